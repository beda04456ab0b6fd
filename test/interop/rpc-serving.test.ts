// Serving remote calls to real BEAM callers (OTP 25 and 27): exposed functions that
// fail in every way JS allows reach rpc:call, erpc:call and rex's callers as the
// errors BEAM reports, and the node goes on serving; a peer nesting
// erpc:execute_call 10,000 deep gets undef; a call with the wrong arity is undef;
// rpc:sbcast through rex reaches registered TS processes; OTP's erl_call (a hidden
// C node) gets its answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { atom, Node, silentLogger, Tuple, type Term } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { EpmdProcess, epmdAvailability } from '../support/epmd-process.js';
import { eventually, freePort, freeSharedPort } from '../support/ports.js';

const COOKIE = 'rpc-serving-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';
const TRIXIE_ROOT = process.env.NESSIE_TRIXIE_ROOT ?? '/var/cache/nessie-cluster/trixie';

async function pair(otp: OtpRelease): Promise<{ node: Node; erl: ErlPeer }> {
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
  const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
  assert.equal(await node.ping(ERL), 'pong');
  return { node, erl };
}

function exposeCalc(node: Node): void {
  const sum = (...xs: Term[]) => xs.reduce<number>((s, x) => s + (x as number), 0);
  node.expose('calc', { add: (a, b) => (a as number) + (b as number), 'sum/3': sum });
}

/** `{js_bad_return, <<"...">>}` whose text (printed by ~0tp, quotes escaped) mentions `what`. */
function badReturn(what: string): RegExp {
  const text = String.raw`(?:[^"\\]|\\.)*`;
  return new RegExp(String.raw`\{js_bad_return,<<"${text}${what} has no Erlang term form${text}">>\}`);
}

/** Exposed functions that fail, and the reason BEAM callers see (printed with ~0tp). */
const FAILURES: [name: string, reason: RegExp][] = [
  ['undef', badReturn('undefined')],
  ['nil', badReturn('null')],
  ['fn', badReturn('function')],
  ['sym', badReturn('symbol')],
  ['boom', /\{js_exception,<<"boom">>\}/],
  ['rejects', /\{js_exception,<<"async boom">>\}/],
  ['str', /\{js_throw,<<"a string">>\}/],
  ['num', /\{js_throw,42\}/],
];

function exposeFailures(node: Node): void {
  node.expose('js', {
    undef: () => undefined as unknown as Term,
    nil: () => Promise.resolve(null as unknown as Term),
    fn: () => (() => 1) as unknown as Term,
    sym: () => Symbol('s') as unknown as Term,
    boom: () => {
      throw new Error('boom');
    },
    rejects: async () => {
      await Promise.resolve();
      throw new TypeError('async boom');
    },
    str: () => {
      throw 'a string';
    },
    num: () => Promise.reject(42),
  });
}

/** `^...$` around a reason pattern, with BEAM's text before and after it. */
function shaped(before: string, reason: RegExp, after: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(before)}${reason.source}${esc(after)}$`);
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: an exposed function that fails, fails only its call, as BEAM reports it (erpc:call, rpc:call, rex)`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      exposeCalc(node);
      exposeFailures(node);
      for (const [name, reason] of FAILURES) {
        const stack = `,[{js,${name},0,[]}]`;
        assert.match(await erl.eval(`try erpc:call('${TS}', js, ${name}, []) catch C:R -> {C, R} end.`), shaped('{error,{exception,', reason, `${stack}}}`), name);
        assert.match(await erl.eval(`rpc:call('${TS}', js, ${name}, []).`), shaped("{badrpc,{'EXIT',{", reason, `${stack}}}}`), name);
        // rex's own protocol: rpc:block_call's gen_server call, and the plain form C nodes send.
        assert.match(await erl.eval(`rpc:block_call('${TS}', js, ${name}, []).`), shaped("{badrpc,{'EXIT',{", reason, `${stack}}}}`), name);
        assert.match(
          await erl.eval(`{rex, '${TS}'} ! {self(), {call, js, ${name}, [], user}}, receive {rex, R} -> R after 10000 -> no_answer end.`),
          shaped("{badrpc,{'EXIT',{", reason, `${stack}}}}`),
          name,
        );
        // erpc:cast gets no answer; the node logs the failure and carries on.
        assert.equal(await erl.eval(`erpc:cast('${TS}', js, ${name}, []).`), 'ok');
        assert.equal(await erl.eval(`erpc:call('${TS}', calc, add, [1, 2]).`), '3', `the node serves on after ${name}`);
      }
      assert.equal(await erl.eval(`{rex, '${TS}'} ! {self(), {call, calc, add, [1, 2], user}}, receive {rex, R} -> R after 10000 -> no_answer end.`), '3');
      assert.equal(await erl.eval(`rpc:block_call('${TS}', calc, add, [1, 2]).`), '3');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: erpc:execute_call nested 10,000 deep is undef and the node lives on; one level is unwrapped`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      exposeCalc(node);
      assert.equal(await erl.eval(`erpc:call('${TS}', erpc, execute_call, [calc, add, [1, 2]]).`), '{return,3}');
      const deep = `Deep = lists:foldl(fun(_, A) -> [erpc, execute_call, A] end, [calc, add, [1, 2]], lists:seq(1, 9999))`;
      assert.equal(await erl.eval(`${deep}, try erpc:call('${TS}', erpc, execute_call, Deep) catch error:{exception, R, _} -> R end.`), 'undef');
      assert.equal(await erl.eval(`${deep}, {badrpc, {'EXIT', {R, _}}} = rpc:call('${TS}', erpc, execute_call, Deep), R.`), 'undef');
      assert.equal(await erl.eval(`erpc:call('${TS}', calc, add, [1, 2]).`), '3');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: rpc:sbcast and rex's send reach registered TS processes; a missing name is reported, not waited for`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      const inbox = node.spawn({ name: 'inbox' });
      assert.equal(await erl.eval(`rpc:sbcast(['${TS}'], inbox, hello).`), `{['${TS}'],[]}`);
      assert.equal(await inbox.receive(5000), atom('hello'));
      assert.equal(await erl.eval(`rpc:sbcast(['${TS}'], nobody, hello).`), `{[],['${TS}']}`);
      // send: Name ! {From, Msg}, and only a missing name is answered.
      assert.match(await erl.eval(`{rex, '${TS}'} ! {self(), {send, inbox, ping}}.`), /\{send,inbox,ping\}/);
      const got = (await inbox.receive(5000)) as Tuple;
      assert.ok(got instanceof Tuple && got[1] === atom('ping'), String(got));
      assert.equal(
        await erl.eval(`{rex, '${TS}'} ! {self(), {send, nobody, ping}}, receive {rex, N, R} -> {N, R} after 10000 -> no_answer end.`),
        `{'${TS}',{nonexisting_name,nobody}}`,
      );
      // rex relays to registered names only, never to a pid (here its caller's own).
      assert.equal(
        await erl.eval(`{rex, '${TS}'} ! {self(), {sbcast, self(), relayed}}, receive {rex, _, {nonexisting_name, P}} when P =:= self() -> refused; relayed -> relayed after 10000 -> no_answer end.`),
        'refused',
      );
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a result is encoded once, by its reply's send; one with no Erlang form deep inside is js_bad_return, and the connection serves on`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      // A getter counts how often the encoder reads the result: once per call.
      let reads = 0;
      const cyclic: Term[] = [1];
      cyclic.push(cyclic);
      node.expose('once', {
        counted: () => ({
          get value(): Term {
            reads++;
            return 1;
          },
        }),
        deep: () => [1, new Map<Term, Term>([[atom('k'), [2, undefined as unknown as Term]]])],
        cyclic: () => cyclic,
      });
      exposeCalc(node);
      const calls: [how: string, call: (f: string) => string][] = [
        ['erpc:call', (f) => `erpc:call('${TS}', once, ${f}, [])`],
        ['rpc:call', (f) => `rpc:call('${TS}', once, ${f}, [])`],
        ['rpc:block_call', (f) => `rpc:block_call('${TS}', once, ${f}, [])`],
        ['rex, plain form', (f) => `begin {rex, '${TS}'} ! {self(), {call, once, ${f}, [], user}}, receive {rex, R} -> R after 10000 -> no_answer end end`],
      ];
      for (const [how, call] of calls) {
        reads = 0;
        assert.equal(await erl.eval(`${call('counted')}.`), '#{value => 1}', how);
        assert.equal(reads, 1, `${how}: the result was read ${reads} times`);
        for (const [f, why] of [['deep', badReturn('undefined')], ['cyclic', badReturn('cyclic structure')]] as const) {
          const got = await erl.eval(`try ${call(f)} catch error:{exception, Why, Stack} -> {exception, Why, Stack} end.`);
          assert.match(got, why, `${how} ${f}`);
          assert.match(got, new RegExp(`\\[\\{once,${f},0,\\[\\]\\}\\]`), `${how} ${f}: the stack names the function`);
        }
        assert.equal(await erl.eval(`erpc:call('${TS}', calc, add, [1, 2]).`), '3', `${how}: the node serves on`);
      }
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a result that comes after its caller gave up (erpc and rpc timeouts) is dropped, good or unencodable; the node serves on`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      let finished = 0;
      const later = (value: Term) => new Promise<Term>((resolve) => setTimeout(() => (finished++, resolve(value)), 300));
      node.expose('late', { good: () => later(atom('late')), bad: () => later(undefined as unknown as Term) });
      exposeCalc(node);
      // Each caller then waits past the function's end: nothing late reaches its mailbox.
      const afterwards = 'receive M -> {unexpected, M} after 600 -> nothing_late end';
      for (const f of ['good', 'bad']) {
        assert.equal(await erl.eval(`{try erpc:call('${TS}', late, ${f}, [], 50) catch error:{erpc, R} -> R end, ${afterwards}}.`), '{timeout,nothing_late}', f);
        assert.equal(await erl.eval(`{rpc:call('${TS}', late, ${f}, [], 50), ${afterwards}}.`), '{{badrpc,timeout},nothing_late}', f);
      }
      assert.ok(await eventually(() => finished === 4, 5000), 'every late function finished');
      assert.equal(await erl.eval(`erpc:call('${TS}', calc, add, [1, 2]).`), '3');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a call with another arity than the exposed one is undef`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      exposeCalc(node);
      assert.equal(await erl.eval(`try erpc:call('${TS}', calc, add, [1, 2, 3, 4]) catch C:R -> {C, R} end.`), '{error,{exception,undef,[{calc,add,[1,2,3,4],[]}]}}');
      assert.equal(await erl.eval(`rpc:call('${TS}', calc, add, [1]).`), "{badrpc,{'EXIT',{undef,[{calc,add,[1],[]}]}}}");
      assert.equal(await erl.eval(`rpc:call('${TS}', calc, sum, [1, 2, 3]).`), '6');
      assert.equal(await erl.eval(`try erpc:call('${TS}', calc, sum, [1, 2]) catch C:R -> {C, R} end.`), '{error,{exception,undef,[{calc,sum,[1,2],[]}]}}');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });
}

/** erl_call of this release, as [program, ...args]: the host's for 25, the trixie root's (under chroot) for 27. */
function erlCallCommand(otp: OtpRelease): string[] {
  if (otp === 25) return ['erl_call'];
  const lib = `${TRIXIE_ROOT}/usr/lib/erlang/lib`;
  const dir = readdirSync(lib).find((d) => d.startsWith('erl_interface-'));
  if (dir === undefined) throw new Error(`no erl_interface in ${lib}`);
  return ['chroot', TRIXIE_ROOT, `/usr/lib/erlang/lib/${dir}/bin/erl_call`];
}

/** Runs erl_call to completion (at most 20 s, then it is killed by its PID). */
function runErlCall(otp: OtpRelease, args: string[], epmdPort: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...pre] = erlCallCommand(otp);
  const child = spawn(cmd, [...pre, ...args], { env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 20_000);
  return new Promise((resolve) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${e.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// erl_interface's C node advertises neither DFLAG_DIST_HDR_ATOM_CACHE nor
// DFLAG_SEND_SENDER (flags 0x407074f9c from OTP 25 and 27), so its answer goes out as
// a pass-through SEND (distribution/connection.ts and downgrade.ts honour the peer's
// flags): these tests fail if either is sent in the newer form.

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: erl_call -a gets its answer from rex (embedded EPMD: -n, -name, -address)`, { timeout: 90_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const epmdPort = await freePort('127.0.0.2');
    const node = await Node.start({ name: 'ts@127.0.0.2', cookie: COOKIE, epmd: { port: epmdPort }, logger: silentLogger });
    try {
      exposeCalc(node);
      // -r: a random name for erl_call's own node, so runs never clash over it. Never -s:
      // it would start a BEAM node under the TS node's name when the TS node is down.
      for (const target of [['-n', 'ts@127.0.0.2'], ['-name', 'ts@127.0.0.2'], ['-address', `127.0.0.2:${node.port}`]]) {
        const r = await runErlCall(otp, ['-r', '-timeout', '15', '-c', COOKIE, ...target, '-a', 'calc add [1,2]'], epmdPort);
        assert.equal(r.stdout, '3', `erl_call ${target.join(' ')}: exit ${r.code}, stderr: ${r.stderr}`);
      }
      const r = await runErlCall(otp, ['-r', '-timeout', '15', '-c', COOKIE, '-n', 'ts@127.0.0.2', '-a', 'calc add [1]'], epmdPort);
      // ei_print_term's layout: spaces after commas, and [1] as the string "\x1".
      assert.match(r.stdout, /^\{badrpc, \{'EXIT', \{undef, \[\{calc, add, /, `exit ${r.code}, stderr: ${r.stderr}`);
    } finally {
      await node.stop();
    }
  });
}

test('OTP 25: erl_call finds a TS node through the real epmd', { timeout: 60_000 }, async (t) => {
  if (!requireOtp(t, 25)) return;
  const avail = epmdAvailability();
  if (!avail.ok) {
    if (process.env.CI) throw new Error(`epmd is required in CI: ${avail.reason}`);
    t.skip(avail.reason);
    return;
  }
  const epmdPort = await freePort('127.0.0.1');
  const epmd = await EpmdProcess.start({ port: epmdPort });
  // Real epmd binds 127.0.0.1 whatever it is told, so the node lives there too.
  const node = await Node.start({ name: 'ts_real_epmd@127.0.0.1', cookie: COOKIE, epmd: { port: epmdPort }, logger: silentLogger });
  try {
    exposeCalc(node);
    const r = await runErlCall(25, ['-r', '-timeout', '15', '-c', COOKIE, '-n', 'ts_real_epmd@127.0.0.1', '-a', 'calc add [1,2]'], epmdPort);
    assert.equal(r.stdout, '3', `exit ${r.code}, stderr: ${r.stderr}`);
  } finally {
    await node.stop();
    await epmd.stop();
  }
});
