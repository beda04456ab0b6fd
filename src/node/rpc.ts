/**
 * Remote calls into TypeScript, both ways BEAM makes them, limited to functions
 * exposed on purpose with `node.expose(module, functions)`:
 *
 * - erpc (OTP 23+, and rpc:call on top of it): a SPAWN_REQUEST for
 *   `erpc:execute_call(Ref, M, F, A)` with a monitor whose reference is the request
 *   id. erpc.erl's spawned process answers by exiting with `{Ref, return, Result}`
 *   (or `{Ref, error, Reason, Stack}`...), which the caller receives as the DOWN
 *   reason. We reply SPAWN_REPLY with a pid that stands for the call, run the
 *   function, and send that exit as PAYLOAD_MONITOR_P_EXIT.
 * - the `rex` server (rpc:call's older path): `{'$gen_call', From, {call, M, F, A, GroupLeader}}`.
 *
 * Any other spawn request is refused at once with `notsup`. Lookups use own
 * properties of a Map, so no name a remote sends reaches anything not exposed.
 */
import { atom, Atom, Pid, Reference, tuple, Tuple, type Term } from '../term/types.js';

/** A function BEAM nodes may call: it gets the call's arguments and returns (or resolves to) a term. */
export type ExposedFunction = (...args: Term[]) => Term | Promise<Term>;

const ERPC = atom('erpc');
const EXECUTE_CALL = atom('execute_call');
const EXECUTE_CAST = atom('execute_cast');
const RETURN = atom('return');
const ERROR = atom('error');
const UNDEF = atom('undef');
const CALL = atom('call');
const BADRPC = atom('badrpc');
const EXIT = atom('EXIT');
const JS_EXCEPTION = atom('js_exception');

/** What a call came to: `return` and a value, or an Erlang-style error with a stack. */
type Outcome = { ok: true; value: Term } | { ok: false; reason: Term; stack: Term[] };

export class ExposedModules {
  private readonly modules = new Map<string, Map<string, ExposedFunction>>();

  /** Makes `functions` callable from BEAM as `module:name(Args...)`. Replaces an earlier exposure of `module`. */
  expose(module: string, functions: Record<string, ExposedFunction>): void {
    const table = new Map<string, ExposedFunction>();
    for (const name of Object.keys(functions)) {
      const fn = functions[name];
      if (typeof fn !== 'function') throw new TypeError(`expose(${module}): ${name} is not a function`);
      table.set(name, fn);
    }
    this.modules.set(module, table);
  }

  unexpose(module: string): void {
    this.modules.delete(module);
  }

  /** Runs `module:fn(args)` if it is exposed; `undef` otherwise, as BEAM says of a missing function. */
  async run(module: Term, fn: Term, args: Term): Promise<Outcome> {
    const undef: Outcome = { ok: false, reason: UNDEF, stack: [tuple(module, fn, Array.isArray(args) ? args : [], [])] };
    if (!(module instanceof Atom) || !(fn instanceof Atom) || !Array.isArray(args) || args instanceof Tuple) return undef;
    // rpc:call wraps its target in erpc:execute_call/3, which answers {return, Result}.
    if (module === ERPC && fn === EXECUTE_CALL && args.length === 3) {
      const inner = await this.run(args[0], args[1], args[2]);
      return inner.ok ? { ok: true, value: tuple(RETURN, inner.value) } : inner;
    }
    const f = this.modules.get(module.name)?.get(fn.name);
    if (f === undefined) return undef;
    try {
      return { ok: true, value: await f(...args) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, reason: tuple(JS_EXCEPTION, message), stack: [] };
    }
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

/** `{SPAWN_REQUEST, ReqId, From, GroupLeader, {M, F, Arity}, OptList}` + ArgList. */
export function parseSpawnRequest(control: Tuple, payload: Term | undefined): SpawnRequest | undefined {
  const [, reqId, from, , mfa, opts] = control;
  if (!(reqId instanceof Reference) || !(from instanceof Pid) || !(mfa instanceof Tuple) || mfa.length !== 3) return undefined;
  const args = Array.isArray(payload) ? payload : [];
  const optList = Array.isArray(opts) ? opts : [];
  const monitor = optList.some((o) => o === atom('monitor') || (o instanceof Tuple && o[0] === atom('monitor')));
  return { reqId, from, module: mfa[0], fn: mfa[1], args, monitor };
}

/** True for the spawns erpc makes: `erpc:execute_call/4` (call) and `erpc:execute_cast/3` (cast). */
export function isErpcSpawn(r: SpawnRequest): 'call' | 'cast' | undefined {
  if (r.module !== ERPC) return undefined;
  if (r.fn === EXECUTE_CALL && r.args.length === 4) return 'call';
  if (r.fn === EXECUTE_CAST && r.args.length === 3) return 'cast';
  return undefined;
}

/** The exit reason erpc's caller expects: `{Ref, return, Value}` or `{Ref, error, Reason, Stack}`. */
export function erpcExitReason(ref: Term, outcome: Outcome): Term {
  return outcome.ok ? tuple(ref, RETURN, outcome.value) : tuple(ref, ERROR, outcome.reason, outcome.stack);
}

/** rex's answer to `{call, M, F, A, GL}`: the value, or `{badrpc, {'EXIT', {Reason, Stack}}}`. */
export function rexReply(outcome: Outcome): Term {
  return outcome.ok ? outcome.value : tuple(BADRPC, tuple(EXIT, tuple(outcome.reason, outcome.stack)));
}

/** The `{call, M, F, A, GroupLeader}` request rex serves, or undefined. */
export function parseRexCall(request: Term): { module: Term; fn: Term; args: Term } | undefined {
  if (!(request instanceof Tuple) || request[0] !== CALL || request.length < 4) return undefined;
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

