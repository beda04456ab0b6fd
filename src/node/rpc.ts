/**
 * Remote calls into TypeScript: the table of functions exposed on purpose with
 * `node.expose(module, functions)`, how a call of one of them comes out (its
 * outcome), and the term shapes rpc and erpc use on the wire. The two ways BEAM
 * makes such calls are served in `services/erpc.ts` (SPAWN_REQUEST, what rpc:call
 * and erpc:call use since OTP 23) and `services/rex.ts` (the `rex` server, for
 * older callers and C nodes such as erl_call).
 *
 * Lookups are by own keys of Maps, so no name a remote sends reaches anything not
 * exposed, and by arity, as BEAM looks up `Module:Function/Arity`.
 *
 * What a BEAM caller sees when a call fails, as the reason of an `error` and its stack:
 *
 * - not exposed (module, function or arity): `undef`, stack `[{M, F, Args, []}]`;
 * - an `Error` thrown, or rejected with: `{js_exception, Message}` (Message a binary),
 *   stack `[{M, F, Arity, []}]`;
 * - any other value thrown or rejected with: `{js_throw, Value}` (Value as a term, or
 *   its text as a binary when it has no Erlang form), same stack;
 * - a return value with no Erlang form (undefined, null, a function, a symbol, NaN, a
 *   cycle): `{js_bad_return, Why}` (Why a binary such as
 *   `<<"undefined has no Erlang term form">>`), same stack.
 *
 * erpc:call raises `error:{exception, Reason, Stack}`; rpc:call returns
 * `{badrpc, {'EXIT', {Reason, Stack}}}` (both ways it can travel: erpc, and rex).
 */
import type { SpawnRequestMessage } from '../distribution/control.js';
import { encode } from '../term/encode.js';
import { atom, Atom, LocalTerm, MAX_ATOM_CHARACTERS, Pid, Reference, tuple, Tuple, type Term } from '../term/types.js';

/** A function BEAM nodes may call: it gets the call's arguments and returns (or resolves to) a term. */
export type ExposedFunction = (...args: Term[]) => Term | Promise<Term>;

const ERPC = atom('erpc');
const EXECUTE_CALL = atom('execute_call');
const EXECUTE_CAST = atom('execute_cast');
const RETURN = atom('return');
const ERROR = atom('error');
const UNDEF = atom('undef');
const CALL = atom('call');
const BLOCK_CALL = atom('block_call');
const BADRPC = atom('badrpc');
const EXIT = atom('EXIT');
const MONITOR = atom('monitor');
const JS_EXCEPTION = atom('js_exception');
const JS_THROW = atom('js_throw');
const JS_BAD_RETURN = atom('js_bad_return');
/** BEAM's limit on a function's arity. */
const MAX_ARITY = 255;
const NAME_WITH_ARITY = /^(.+)\/(\d{1,3})$/;

/**
 * What a call came to: the value the function returned, or an Erlang `error` with a
 * stack. A value is not checked here: the reply that carries it is encoded once, by
 * its send, and when that fails (the value has no Erlang form) the server answers
 * `badReturn(outcome, err)` instead. `module`, `fn` and `arity` name the function
 * applied, for that answer's stack.
 */
export type Outcome = Returned | Failed;
export interface Returned {
  ok: true;
  value: Term;
  module: Term;
  fn: Term;
  arity: number;
}
export interface Failed {
  ok: false;
  reason: Term;
  stack: Term[];
}

export class ExposedModules {
  /** module name → `name/arity` → function. */
  private readonly modules = new Map<string, Map<string, ExposedFunction>>();

  /**
   * Makes `functions` callable from BEAM as `module:name(Args...)`, replacing an
   * earlier exposure of `module`. A key `'name/N'` exposes the function at arity N
   * (as in `-export([name/N])`), so that variadic functions, functions with default
   * or rest parameters, and several arities of one name can be exposed; a plain key
   * `'name'` takes the arity from the function's declared parameters (`fn.length`,
   * which stops at the first default or rest parameter). A call with another arity
   * is `undef`, as on BEAM.
   * @throws TypeError for a value that is not a function, a bad name or arity, or
   * the same name/arity given twice.
   */
  expose(module: string, functions: Record<string, ExposedFunction>): void {
    checkName('module', module, module);
    const table = new Map<string, ExposedFunction>();
    for (const key of Object.keys(functions)) {
      const fn = functions[key];
      if (typeof fn !== 'function') throw new TypeError(`expose(${module}): ${key} is not a function`);
      const explicit = NAME_WITH_ARITY.exec(key);
      const name = explicit === null ? key : explicit[1];
      const arity = explicit === null ? fn.length : Number(explicit[2]);
      checkName('function', name, module);
      if (arity > MAX_ARITY) throw new TypeError(`expose(${module}): ${key}: arity ${arity} is over BEAM's ${MAX_ARITY}`);
      const id = `${name}/${arity}`;
      if (table.has(id)) throw new TypeError(`expose(${module}): ${id} is given twice`);
      table.set(id, fn);
    }
    this.modules.set(module, table);
  }

  /**
   * Runs `module:fn(args)` if it is exposed at that arity; `undef` otherwise, as BEAM
   * says of a missing function. `erpc:execute_call(M, F, A)` (OTP's
   * `{return, apply(M, F, A)}`) is unwrapped once, so callers that name it explicitly
   * get what BEAM would answer; OTP 25 and 27 themselves never send it (their
   * rpc:call and erpc:call spawn `erpc:execute_call/4` on M, F, A directly, checked
   * on the wire). A nested one is `undef`: unwrapping without end would let a peer
   * recurse us out of stack. Never rejects; a successful outcome's value may still
   * have no Erlang form (see Outcome).
   */
  async run(module: Term, fn: Term, args: Term): Promise<Outcome> {
    if (module === ERPC && fn === EXECUTE_CALL && isList(args) && args.length === 3) {
      const inner = await this.apply(args[0], args[1], args[2]);
      if (inner.ok) inner.value = tuple(RETURN, inner.value);
      return inner;
    }
    return this.apply(module, fn, args);
  }

  private async apply(module: Term, fn: Term, args: Term): Promise<Outcome> {
    const f =
      module instanceof Atom && fn instanceof Atom && isList(args) ? this.modules.get(module.name)?.get(`${fn.name}/${args.length}`) : undefined;
    if (f === undefined) return { ok: false, reason: UNDEF, stack: [tuple(module, fn, args, [])] };
    const arity = (args as Term[]).length;
    let value: Term;
    try {
      value = await f(...(args as Term[]));
    } catch (thrown) {
      return { ok: false, reason: thrownReason(thrown), stack: stackOf(module, fn, arity) };
    }
    return { ok: true, value, module, fn, arity };
  }
}

/** As erpc trims BEAM's stack to the applied function: `[{M, F, Arity, Location}]`. */
function stackOf(module: Term, fn: Term, arity: number): Term[] {
  return [tuple(module, fn, arity, [])];
}

/**
 * The answer for a returned value whose reply could not be sent (`err`, what the send
 * threw: nothing of it went out): `{js_bad_return, Why}`. Why is said of the value
 * itself (its own path, not the reply's), which costs a second encode on this path only.
 */
export function badReturn(outcome: Returned, err: unknown): Failed {
  const why = unencodable(outcome.value) ?? textOf(() => (err instanceof Error ? err.message : String(err)));
  return { ok: false, reason: tuple(JS_BAD_RETURN, why), stack: stackOf(outcome.module, outcome.fn, outcome.arity) };
}

function checkName(what: string, name: string, module: string): void {
  if (name.length === 0 || [...name].length > MAX_ATOM_CHARACTERS) {
    throw new TypeError(`expose(${module}): a ${what} name must be 1-${MAX_ATOM_CHARACTERS} characters, got '${name}'`);
  }
}

function isList(t: Term): t is Term[] {
  return Array.isArray(t) && !(t instanceof Tuple);
}

/**
 * The reason for what a function threw (or rejected with): `{js_exception, Message}`
 * for an Error, `{js_throw, Value}` for anything else (its text when it has no
 * Erlang form). Both are class `error`: a JS throw means failure, while an Erlang
 * `throw` would make rpc:call return the value as if it were a result.
 */
export function thrownReason(thrown: unknown): Term {
  if (thrown instanceof Error) return tuple(JS_EXCEPTION, textOf(() => String(thrown.message)));
  if (unencodable(thrown) === undefined) return tuple(JS_THROW, thrown as Term);
  return tuple(JS_THROW, textOf(() => String(thrown)));
}

/** Why `value` cannot be sent inside a reply, or undefined when it can. */
export function unencodable(value: unknown): string | undefined {
  // encode() takes a LocalTerm at the top only, and a reply always wraps the value.
  if (value instanceof LocalTerm) return 'a LocalTerm can only be sent whole, not as a return value';
  try {
    encode(value as Term);
    return undefined;
  } catch (err) {
    return textOf(() => (err instanceof Error ? err.message : String(err)));
  }
}

/** Text for a reason: a getter or toString of user code may throw too. */
function textOf(describe: () => string): string {
  try {
    return describe();
  } catch {
    return 'a value that cannot be described';
  }
}

/** A parsed SPAWN_REQUEST: who asked, what to run, and whether a monitor was asked for. */
export interface SpawnRequest {
  reqId: Reference;
  from: Pid;
  module: Term;
  fn: Term;
  args: Term[];
  monitor: boolean;
}

/** The parts of a SPAWN_REQUEST erpc serving needs; `monitor` when its options ask for one. */
export function spawnRequestOf(m: SpawnRequestMessage): SpawnRequest {
  const monitor = m.options.some((o) => o === MONITOR || (o instanceof Tuple && o[0] === MONITOR));
  return { reqId: m.reqId, from: m.from, module: m.module, fn: m.fn, args: m.args, monitor };
}

/** True for the spawns erpc makes: `erpc:execute_call/4` (call) and `erpc:execute_cast/3` (cast). */
export function isErpcSpawn(r: SpawnRequest): 'call' | 'cast' | undefined {
  if (r.module !== ERPC) return undefined;
  if (r.fn === EXECUTE_CALL && r.args.length === 4) return 'call';
  if (r.fn === EXECUTE_CAST && r.args.length === 3) return 'cast';
  return undefined;
}

/**
 * The exit reason erpc:execute_call/4 ends with and erpc:call turns back into a
 * result (erpc.erl `result/4`): `{Ref, return, Value}`, or `{Ref, error, Reason, Stack}`,
 * which the caller raises as `error:{exception, Reason, Stack}`.
 */
export function erpcExitReason(ref: Term, outcome: Outcome): Term {
  return outcome.ok ? tuple(ref, RETURN, outcome.value) : tuple(ref, ERROR, outcome.reason, outcome.stack);
}

/** rex's answer to `{call, M, F, A, GL}`, as rpc.erl's execute_call/3 makes it: the value, or `{badrpc, {'EXIT', {Reason, Stack}}}`. */
export function rexReply(outcome: Outcome): Term {
  return outcome.ok ? outcome.value : tuple(BADRPC, tuple(EXIT, tuple(outcome.reason, outcome.stack)));
}

/** The `{call, M, F, A, GroupLeader}` (or `block_call`) request rex serves, or undefined. */
export function parseRexCall(request: Term): { module: Term; fn: Term; args: Term } | undefined {
  if (!(request instanceof Tuple) || request.length !== 5 || (request[0] !== CALL && request[0] !== BLOCK_CALL)) return undefined;
  return { module: request[1], fn: request[2], args: request[3] };
}

/** `{call, M, F, A, GroupLeader}`: what we send to a BEAM node's rex. */
export function rexCall(module: string, fn: string, args: Term[], groupLeader: Pid): Tuple {
  return tuple(CALL, atom(module), atom(fn), args, groupLeader);
}

/** `{badrpc, Reason}` → Reason, else undefined. */
export function badrpcReason(answer: Term): Term | undefined {
  return answer instanceof Tuple && answer.length === 2 && answer[0] === BADRPC ? answer[1] : undefined;
}
