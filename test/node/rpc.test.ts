// The table of exposed functions without a network: arity, the one level of
// erpc:execute_call/3, and how every kind of failure comes out. test/interop/
// rpc-serving.test.ts checks the same against real OTP 25 and 27 callers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, Tuple, tuple, type Term } from '../../src/index.js';
import { badReturn as badReturnOf, ExposedModules, erpcExitReason, rexReply, type Outcome } from '../../src/node/rpc.js';

const M = atom('calc');
const ERPC = atom('erpc');
const EXECUTE_CALL = atom('execute_call');

function failure(o: Outcome): { reason: Term; stack: Term[] } {
  if (o.ok) assert.fail(`expected a failure, got ${String(o.value)}`);
  return o as { reason: Term; stack: Term[] };
}

test('a plain key takes its arity from fn.length; another arity is undef with BEAM stack {M, F, Args, []}', async () => {
  const e = new ExposedModules();
  e.expose('calc', { add: (a, b) => (a as number) + (b as number) });
  assert.deepEqual(await e.run(M, atom('add'), [1, 2]), { ok: true, value: 3, module: M, fn: atom('add'), arity: 2 });
  const f = failure(await e.run(M, atom('add'), [1, 2, 3, 4]));
  assert.equal(f.reason, atom('undef'));
  assert.deepEqual(f.stack, [tuple(M, atom('add'), [1, 2, 3, 4], [])]);
  assert.equal(failure(await e.run(M, atom('add'), [1])).reason, atom('undef'));
});

test("'name/N' keys give the arity explicitly, for rest parameters and several arities of one name", async () => {
  const e = new ExposedModules();
  const sum = (...xs: Term[]) => xs.reduce<number>((s, x) => s + (x as number), 0);
  e.expose('calc', { 'sum/0': sum, 'sum/3': sum, withDefault: (a: Term, b: Term = 10) => (a as number) + (b as number) });
  assert.deepEqual(await e.run(M, atom('sum'), []), { ok: true, value: 0, module: M, fn: atom('sum'), arity: 0 });
  assert.deepEqual(await e.run(M, atom('sum'), [1, 2, 3]), { ok: true, value: 6, module: M, fn: atom('sum'), arity: 3 });
  assert.equal(failure(await e.run(M, atom('sum'), [1, 2])).reason, atom('undef'));
  // fn.length stops at the first default: withDefault is withDefault/1.
  assert.deepEqual(await e.run(M, atom('withDefault'), [1]), { ok: true, value: 11, module: M, fn: atom('withDefault'), arity: 1 });
  assert.equal(failure(await e.run(M, atom('withDefault'), [1, 2])).reason, atom('undef'));
});

test('expose refuses what BEAM could not call, and a name/arity given twice', () => {
  const e = new ExposedModules();
  assert.throws(() => e.expose('calc', { add: 3 as unknown as () => Term }), TypeError);
  assert.throws(() => e.expose('calc', { add: (a, b) => [a, b], 'add/2': (a, b) => [a, b] }), /add\/2 is given twice/);
  assert.throws(() => e.expose('calc', { 'f/256': () => 1 }), /arity 256/);
  assert.throws(() => e.expose('', { f: () => 1 }), TypeError);
  assert.throws(() => e.expose('calc', { [`${'x'.repeat(256)}`]: () => 1 }), TypeError);
  // Not a valid arity suffix: the whole key is the name.
  e.expose('calc', { 'f/x': () => 1 });
});

test('every failure of the function is an Erlang error with the call as its stack', async () => {
  const e = new ExposedModules();
  class Custom {
    toString(): string {
      throw new Error('no text either');
    }
  }
  e.expose('js', {
    undef: () => undefined as unknown as Term,
    nil: () => null as unknown as Term,
    fn: () => (() => 1) as unknown as Term,
    sym: () => Symbol('s') as unknown as Term,
    boom: () => {
      throw new Error('boom');
    },
    rejects: () => Promise.reject(new TypeError('async boom')),
    str: () => {
      throw 'a string';
    },
    num: () => Promise.reject(42),
    odd: () => {
      throw new Custom();
    },
  });
  const js = atom('js');
  const call = async (name: string) => failure(await e.run(js, atom(name), []));
  // A value with no Erlang form is returned as it is; its reply's send fails, and the
  // server answers badReturn(outcome, what the send threw) instead.
  const badReturn = async (name: string, why: RegExp) => {
    const outcome = await e.run(js, atom(name), []);
    assert.ok(outcome.ok, `${name}: the value is returned, not checked`);
    const f = failure(badReturnOf(outcome, new Error('the send failed')));
    assert.ok(f.reason instanceof Tuple && f.reason[0] === atom('js_bad_return'), String(f.reason));
    assert.match(String((f.reason as Tuple)[1]), why);
    assert.deepEqual(f.stack, [tuple(js, atom(name), 0, [])]);
  };
  await badReturn('undef', /undefined has no Erlang term form/);
  await badReturn('nil', /null has no Erlang term form/);
  await badReturn('fn', /function has no Erlang term form/);
  await badReturn('sym', /symbol has no Erlang term form/);
  assert.deepEqual((await call('boom')).reason, tuple(atom('js_exception'), 'boom'));
  assert.deepEqual((await call('rejects')).reason, tuple(atom('js_exception'), 'async boom'));
  assert.deepEqual((await call('str')).reason, tuple(atom('js_throw'), 'a string'));
  assert.deepEqual((await call('num')).reason, tuple(atom('js_throw'), 42));
  // A thrown value with no Erlang form, whose text cannot be had either.
  assert.deepEqual((await call('odd')).reason, tuple(atom('js_throw'), 'a value that cannot be described'));
});

test('erpc:execute_call/3 is unwrapped once; nested deeper it is undef, at any depth, without recursion', async () => {
  const e = new ExposedModules();
  e.expose('calc', { add: (a, b) => (a as number) + (b as number) });
  assert.deepEqual(await e.run(ERPC, EXECUTE_CALL, [M, atom('add'), [1, 2]]), { ok: true, value: tuple(atom('return'), 3), module: M, fn: atom('add'), arity: 2 });
  const twice = [ERPC, EXECUTE_CALL, [M, atom('add'), [1, 2]]];
  assert.equal(failure(await e.run(ERPC, EXECUTE_CALL, twice)).reason, atom('undef'));
  let deep: Term[] = [M, atom('add'), [1, 2]];
  for (let i = 0; i < 10_000; i++) deep = [ERPC, EXECUTE_CALL, deep];
  assert.equal(failure(await e.run(ERPC, EXECUTE_CALL, deep)).reason, atom('undef'));
  // Nothing named erpc is exposed: execute_call/4 (which exits on BEAM) is not callable.
  assert.equal(failure(await e.run(ERPC, EXECUTE_CALL, [atom('ref'), M, atom('add'), [1, 2]])).reason, atom('undef'));
});

test('the wire shapes: erpc exit reasons and rex replies', () => {
  const ref = atom('ref_stand_in');
  const err: Outcome = { ok: false, reason: atom('undef'), stack: [] };
  const three: Outcome = { ok: true, value: 3, module: M, fn: atom('add'), arity: 2 };
  assert.deepEqual(erpcExitReason(ref, three), tuple(ref, atom('return'), 3));
  assert.deepEqual(erpcExitReason(ref, err), tuple(ref, atom('error'), atom('undef'), []));
  assert.equal(rexReply(three), 3);
  assert.deepEqual(rexReply(err), tuple(atom('badrpc'), tuple(atom('EXIT'), tuple(atom('undef'), []))));
});
