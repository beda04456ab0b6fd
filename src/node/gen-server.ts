/**
 * A gen_server in TypeScript: `node.serve(name, handlers)` runs a process that answers
 * `gen_server:call`, `gen_server:cast`, Elixir's `GenServer.call`/`cast` and
 * `node.call`, so nobody hand-parses `{'$gen_call', From, Request}`.
 *
 * It behaves as OTP's gen_server does where a BEAM caller can tell:
 * - messages are handled one at a time, in arrival order, each handler awaited before
 *   the next message is taken (a gen_server is sequential);
 * - a reply goes out through the gen protocol (gen:reply/2: to the caller's alias when
 *   it used one), from the server's own pid;
 * - a handler that throws or rejects ends the server with `{js_exception, Message}`
 *   (`{js_throw, Value}` for a non-Error), and a caller waiting on it gets that exit
 *   reason through its monitor, as gen:call does when a gen_server crashes. Only the
 *   server process ends: never the node, never a connection;
 * - of the `sys` messages, `{terminate, Reason}` (`GenServer.stop/3`, `gen_server:stop/3`)
 *   is answered as gen_server does (`ok`, then the server exits with Reason); every
 *   other one gets sys's `{error, {unknown_system_msg, Request}}`. `get_state` is one of
 *   them: its reply changed shape between OTP 25 (the state) and OTP 27 (`{ok, State}`),
 *   and a reply cannot tell which release asked.
 */
import { inspect } from 'node:util';
import { EncodeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { atom, isTuple, Pid, tuple, type Reference, type Term, type Tuple } from '../term/types.js';
import { GEN_CAST, parseGenCall, replyFor } from './gen.js';
import { NORMAL, type Process } from './process.js';
import { thrownReason } from './rpc.js';

const JS_BAD_RETURN = atom('js_bad_return');
const BAD_CALL = atom('bad_call');
const BAD_CAST = atom('bad_cast');
const SYSTEM = atom('system');
const TERMINATE = atom('terminate');
const ERROR = atom('error');
const OK = atom('ok');
const UNKNOWN_SYSTEM_MSG = atom('unknown_system_msg');

/**
 * What `handleCall` returns: the reply itself (the state stays as it is), or one of
 * `callReply(reply, newState)` and `noReply(newState?)` to change the state or to
 * answer later with `node.reply(from, reply)`.
 */
export type CallReturn<State> = Term | CallResult<State>;

/** A `handleCall` result that carries a new state (see `callReply`, `noReply`). */
export class CallResult<State> {
  /** Use `callReply` or `noReply`. */
  constructor(
    /** The reply, or undefined when the handler answers later with `node.reply`. */
    readonly reply: Term | undefined,
    readonly replies: boolean,
    /** The new state; ignored when `keepsState`. */
    readonly state: State | undefined,
    readonly keepsState: boolean,
  ) {}
}

/** `{reply, Reply, NewState}`: answers the call with `reply` and makes `state` the server's state. */
export function callReply<State>(reply: Term, state: State): CallResult<State> {
  return new CallResult(reply, true, state, false);
}

/**
 * `{noreply, NewState}`: sends no reply now; the handler (or code it started) answers
 * later with `node.reply(from, reply)`, as with gen_server:reply/2. Without `state`
 * the state stays as it is.
 */
export function noReply<State = never>(...state: [] | [State]): CallResult<State> {
  return state.length === 0 ? new CallResult<State>(undefined, false, undefined, true) : new CallResult(undefined, false, state[0], false);
}

/**
 * The callbacks of a server. Each may be async; the server awaits it before it takes
 * the next message. `handleCast` and `handleInfo` return the new state, or
 * `undefined` (or nothing) to keep the state (mutate it in place if you like).
 */
export interface GenServerHandlers<State> {
  /** The first state, before any message is handled (messages wait until it is ready). Without it the state is `undefined`. */
  init?: () => State | Promise<State>;
  /**
   * A `gen_server:call` / `GenServer.call` / `node.call`: returns the reply (see
   * `CallReturn`). `from` is the caller's `{Pid, Tag}`, for `node.reply` with `noReply`.
   * Without it, a call ends the server with `{bad_call, Request}`, as Elixir's default does.
   */
  handleCall?: (request: Term, from: Tuple, state: State) => CallReturn<State> | Promise<CallReturn<State>>;
  /** A `gen_server:cast` (`{'$gen_cast', Request}`). Without it, a cast ends the server with `{bad_cast, Request}`. */
  handleCast?: (request: Term, state: State) => State | void | Promise<State | void>;
  /** Any other message (`{'DOWN', ...}`, plain sends, ...). Without it, such messages are logged and dropped. */
  handleInfo?: (message: Term, state: State) => State | void | Promise<State | void>;
}

/** What a server needs from its node. */
export interface GenServerHost {
  /**
   * Sends a reply to a pid or an alias, as gen:reply/2 does; throws an EncodeError,
   * with nothing sent, when it has no Erlang form (router.sendCheckedReply).
   */
  sendReply(from: Pid, to: Pid | Reference, message: Term): void;
  logger: Logger;
}

/** A running server (from `node.serve`): its process, and how to stop it. */
export class GenServer {
  /** Resolves once the server has exited, for whatever reason (never rejects). */
  readonly stopped: Promise<void>;
  private readonly process: Process;

  /** Servers are started by `node.serve()`. */
  constructor(process: Process, stopped: Promise<void>) {
    this.process = process;
    this.stopped = stopped;
  }

  get pid(): Pid {
    return this.process.pid;
  }

  /** The registered name, if any. */
  get name(): string | undefined {
    return this.process.name;
  }

  get alive(): boolean {
    return this.process.alive;
  }

  /** Ends the server with `reason` (default `normal`); a call it was handling gets that reason. Idempotent. */
  stop(reason: Term = NORMAL): void {
    this.process.exit(reason);
  }
}

/**
 * Runs `handlers` on `process`: init, then the receive loop. Resolves once init has
 * finished; rejects with init's error after ending the process with its reason (as
 * gen_server:start returns `{error, Reason}`).
 */
export async function startGenServer<State>(process: Process, handlers: GenServerHandlers<State>, host: GenServerHost): Promise<GenServer> {
  let state: State;
  try {
    state = handlers.init === undefined ? (undefined as State) : await handlers.init();
  } catch (err) {
    process.exit(thrownReason(err));
    throw err;
  }
  // loop() never rejects: every handler's error is caught and becomes the exit reason.
  return new GenServer(process, loop(process, handlers, host, state));
}

/** The receive loop; resolves once the process has exited. */
async function loop<State>(process: Process, handlers: GenServerHandlers<State>, host: GenServerHost, initial: State): Promise<void> {
  let state = initial;
  for (;;) {
    let message: Term;
    try {
      message = await process.receive();
    } catch {
      return; // exited: stop(), a link, the node stopping
    }
    let crash: Term | undefined;
    try {
      const next = await handle(process, handlers, host, message, state);
      if (next.crash !== undefined) crash = next.crash;
      else state = next.state;
    } catch (err) {
      crash = thrownReason(err);
    }
    if (!process.alive) return; // stopped while a handler ran
    if (crash !== undefined) {
      process.exit(crash);
      log(() => host.logger.error(`gen_server ${process.name ?? process.pid.toString()} terminated: ${inspect(crash, { depth: 4, breakLength: Infinity })}`));
      return;
    }
  }
}

type Handled<State> = { state: State; crash?: undefined } | { crash: Term };

async function handle<State>(process: Process, h: GenServerHandlers<State>, host: GenServerHost, message: Term, state: State): Promise<Handled<State>> {
  const call = parseGenCall(message);
  if (call !== undefined) {
    if (h.handleCall === undefined) return { crash: tuple(BAD_CALL, call.request) };
    const result = await h.handleCall(call.request, call.from, state);
    const { reply, next, replies } =
      result instanceof CallResult ? { reply: result.reply, next: result.keepsState ? state : (result.state as State), replies: result.replies } : { reply: result, next: state, replies: true };
    // The caller may have gone (a timeout, its node down): the reply is then dropped, as on BEAM.
    if (replies && process.alive) {
      // Encoded once, by the send (no check first): a reply with no Erlang form is sent
      // to nobody and ends the server.
      try {
        sendTo(host, process, call.from, reply as Term);
      } catch (err) {
        if (err instanceof EncodeError) return { crash: tuple(JS_BAD_RETURN, err.message) };
        throw err;
      }
    }
    return { state: next };
  }
  const system = parseSystem(message);
  if (system !== undefined) {
    if (isTuple(system.request) && system.request.length === 2 && system.request[0] === TERMINATE) {
      sendTo(host, process, system.from, OK);
      process.exit(system.request[1]);
    } else {
      sendTo(host, process, system.from, tuple(ERROR, tuple(UNKNOWN_SYSTEM_MSG, system.request)));
    }
    return { state };
  }
  if (isCast(message)) {
    if (h.handleCast === undefined) return { crash: tuple(BAD_CAST, message[1]) };
    const next = await h.handleCast(message[1], state);
    return { state: next === undefined ? state : next };
  }
  if (h.handleInfo === undefined) {
    log(() => host.logger.warn(`gen_server ${process.name ?? process.pid.toString()} received an unexpected message: ${inspect(message, { depth: 4, breakLength: Infinity })}`));
    return { state };
  }
  const next = await h.handleInfo(message, state);
  return { state: next === undefined ? state : next };
}

/** A user's logger that throws must not turn `stopped` into a rejection nobody handles. */
function log(write: () => void): void {
  try {
    write();
  } catch {
    // nothing better to do with it
  }
}

function sendTo(host: GenServerHost, process: Process, from: Tuple, reply: Term): void {
  const out = replyFor(from, reply);
  host.sendReply(process.pid, out.to, out.message);
}

/** `{system, From, Request}`, as sys sends it (through gen:call, so From is a call's). */
function parseSystem(m: Term): { from: Tuple; request: Term } | undefined {
  if (!isTuple(m) || m.length !== 3 || m[0] !== SYSTEM) return undefined;
  const from = m[1];
  return isTuple(from) && from.length === 2 && from[0] instanceof Pid ? { from, request: m[2] } : undefined;
}

function isCast(m: Term): m is Tuple {
  return isTuple(m) && m.length === 2 && m[0] === GEN_CAST;
}
