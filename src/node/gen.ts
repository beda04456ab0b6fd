/**
 * The gen_server call protocol as OTP's gen.erl speaks it, both ways.
 *
 * A call is `{'$gen_call', From, Request}` with `From = {Pid, Tag}`. Since OTP 24 the
 * Tag of a call made with an alias is the improper list `[alias | Ref]`, and the reply
 * must go to that alias (gen:reply/2): `Alias ! {Tag, Reply}`. Older callers use a
 * plain reference and get `Pid ! {Tag, Reply}`.
 */
import { CallError, TimeoutError } from '../errors.js';
import { atom, ImproperList, Pid, Reference, Tuple, tuple, type Term } from '../term/types.js';
import type { Binaries } from './binaries.js';
import type { Destination } from './process.js';
import type { Inbox } from './registry.js';
import { NOCONNECTION, type Router } from './router.js';

export const GEN_CALL = atom('$gen_call');
export const GEN_CAST = atom('$gen_cast');
const ALIAS = atom('alias');
const DOWN = atom('DOWN');
const NODEDOWN = atom('nodedown');

/** A received `$gen_call`: who to answer and what was asked. */
export interface GenCall {
  from: Tuple;
  request: Term;
}

/** The parts of a `{'$gen_call', From, Request}` message, or undefined if it is not one. */
export function parseGenCall(message: Term): GenCall | undefined {
  if (!(message instanceof Tuple) || message.length !== 3 || message[0] !== GEN_CALL) return undefined;
  const from = message[1];
  if (!(from instanceof Tuple) || from.length !== 2 || !(from[0] instanceof Pid)) return undefined;
  return { from, request: message[2] };
}

/**
 * Where and what to send to answer a call, as gen:reply/2 decides: to the alias of a
 * `[alias | Alias]` tag, or of a `[[alias | Alias] | _]` tag (OTP 27's multi_call),
 * else to the caller's pid.
 */
export function replyFor(from: Tuple, reply: Term): { to: Pid | Reference; message: Term } {
  const tag = from[1];
  const message = tuple(tag, reply);
  const alias = aliasOf(tag) ?? (tag instanceof ImproperList && tag.elements.length === 1 ? aliasOf(tag.elements[0]) : undefined);
  return { to: alias ?? (from[0] as Pid), message };
}

function aliasOf(tag: Term): Reference | undefined {
  return tag instanceof ImproperList && tag.elements.length === 1 && tag.elements[0] === ALIAS && tag.tail instanceof Reference ? tag.tail : undefined;
}

/** The call tag: `[alias | Ref]`, as gen.erl makes it. */
export function tagFor(ref: Reference): ImproperList {
  return new ImproperList([ALIAS], ref);
}

/** The alias in a call tag `[alias | Ref]`. */
export function aliasOfTag(t: Term): Reference | undefined {
  return t instanceof ImproperList && t.elements.length === 1 && t.elements[0] === ALIAS && t.tail instanceof Reference ? t.tail : undefined;
}

/**
 * The caller's side of one gen:call: it stands in for a process as the owner of the
 * call's alias and monitor (no process per call), takes `{Tag, Reply}` or the DOWN of
 * its monitor, and settles once, removing both. One object per call with methods, not
 * closures: a call is the hot path, and closures cost each time they are made.
 */
export class PendingCall implements Inbox {
  readonly promise: Promise<Term>;
  private resolve!: (reply: Term) => void;
  private reject!: (err: unknown) => void;
  private done = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly pid: Pid,
    private readonly ref: Reference,
    private readonly dest: Destination,
    private readonly localNode: string,
    private readonly router: Router,
    timeoutMs: number,
    /** How binaries in the reply arrive (the caller's choice; binaries.ts). */
    readonly binaries: Binaries,
  ) {
    this.promise = new Promise<Term>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(timedOut, timeoutMs, this, timeoutMs);
  }

  /**
   * Sends `message` (made from the call's `From`) to `dest` from `pid` (the node's own
   * process), with an alias and a monitor (OTP 24+ gen:call): a late reply to the alias,
   * once removed, is dropped, and the monitor ends the wait early. A reply from another
   * node arrives with its binaries as `binaries` says.
   */
  static start(
    router: Router,
    pid: Pid,
    ref: Reference,
    dest: Destination,
    build: (from: Tuple) => Term,
    timeoutMs: number,
    binaries: Binaries = 'buffer',
  ): Promise<Term> {
    const call = new PendingCall(pid, ref, dest, router.registry.nodeAtom.name, router, timeoutMs, binaries);
    router.registry.addAlias(ref, call);
    router.monitor(call, dest, ref);
    if (call.done) return call.promise; // the monitor fired at once: noproc
    try {
      router.route(pid, dest, build(tuple(pid, tagFor(ref))));
    } catch (err) {
      // An unencodable request: nothing was sent (sends are all-or-nothing).
      call.fail(err);
    }
    return call.promise;
  }

  deliver(m: Term): void {
    if (!(m instanceof Tuple)) return;
    if (m.length === 2) {
      if (aliasOfTag(m[0])?.equals(this.ref) === true && this.settle()) this.resolve(m[1]);
    } else if (m.length === 5 && m[0] === DOWN && m[1] instanceof Reference && m[1].equals(this.ref)) {
      const reason = m[4] === NOCONNECTION ? tuple(NODEDOWN, atom(nodeOf(this.dest, this.localNode))) : m[4];
      this.fail(new CallError(`call to ${describe(this.dest)} failed: ${String(reason)}`, reason));
    }
  }

  /** @internal the call's timer */
  timeOut(timeoutMs: number): void {
    this.fail(new TimeoutError(`call to ${describe(this.dest)} timed out`, timeoutMs));
  }

  private fail(err: unknown): void {
    if (this.settle()) this.reject(err);
  }

  /** Ends the call's alias, monitor and timer; false when it had ended already. */
  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    clearTimeout(this.timer);
    this.router.registry.removeAlias(this.ref);
    this.router.demonitor(this, this.ref);
    return true;
  }
}

function timedOut(call: PendingCall, timeoutMs: number): void {
  call.timeOut(timeoutMs);
}

/** The node a destination lives on. */
function nodeOf(dest: Destination, local: string): string {
  if (dest instanceof Pid) return dest.node.name;
  return typeof dest === 'string' ? local : dest.node;
}

export function describe(dest: Destination): string {
  if (typeof dest === 'string') return dest;
  if (dest instanceof Pid) return dest.toString();
  return `{${dest.name}, ${dest.node}}`;
}
