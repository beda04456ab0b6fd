/**
 * erpc into exposed functions (lib/kernel/src/erpc.erl). erpc:call, and rpc:call
 * on top of it, send a SPAWN_REQUEST for `erpc:execute_call(Ref, M, F, A)` with a
 * monitor whose reference is the request id; erpc:cast sends one for
 * `erpc:execute_cast(M, F, A)` without. On BEAM the spawned process applies M:F(A)
 * and exits with `{Ref, return, Value}` or `{Ref, error, Reason, Stack}` (also
 * `{Ref, throw, Value}` and `{Ref, exit, Reason}`, which TS code cannot raise), and
 * the caller reads that exit reason from the DOWN message.
 *
 * Here a TS process stands for the spawned one, so that the caller's monitor, an
 * exit(Pid, kill) after a timeout, and DOWN work as with BEAM's: we answer
 * SPAWN_REPLY with its pid, run the function, and end the process with that reason
 * (which goes out as PAYLOAD_MONITOR_P_EXIT, sent just before the exit so that the
 * result is encoded once, by that send; see answer()). Every other spawn is refused
 * at once with `notsup`, as erlang:spawn_request reports it. The arguments arrive with
 * their binaries as the node's `binaries` option says (binaries.ts).
 */
import { spawnReply, type SpawnRequestMessage } from '../../distribution/control.js';
import type { Logger } from '../../logger.js';
import { EncodeError } from '../../errors.js';
import { atom, type Term, type Tuple } from '../../term/types.js';
import type { Process } from '../process.js';
import type { Router } from '../router.js';
import { badReturn, erpcExitReason, isErpcSpawn, spawnRequestOf, unencodable, type ExposedModules, type Outcome, type SpawnRequest } from '../rpc.js';

const NOTSUP = atom('notsup');
const NORMAL = atom('normal');
/** SPAWN_REPLY flag: a monitor was set up. */
const SPAWN_REPLY_MONITOR = 2;

export interface ErpcOptions {
  router: Router;
  exposed: ExposedModules;
  logger: Logger;
  /** Sends a control message to a connected peer (dropped when it is gone). */
  sendControl(peer: string, control: Tuple): void;
  /** False once the node is stopping: new calls are refused. */
  running(): boolean;
}

/** Serves one SPAWN_REQUEST from `peer`: an erpc call or cast into an exposed function, or `notsup`. */
export function serveSpawnRequest(o: ErpcOptions, peer: string, message: SpawnRequestMessage): void {
  const req = spawnRequestOf(message);
  const kind = isErpcSpawn(req);
  if (kind === undefined || !o.running()) {
    o.sendControl(peer, spawnReply(req.reqId, req.from, 0, NOTSUP));
    return;
  }
  const p = o.router.spawn();
  if (req.monitor) o.router.watch(p, req.from, req.reqId);
  o.sendControl(peer, spawnReply(req.reqId, req.from, req.monitor ? SPAWN_REPLY_MONITOR : 0, p.pid));
  const [m, f, a] = kind === 'call' ? req.args.slice(1) : req.args;
  // run() never rejects and answer() sends only what encodes, so the exit cannot
  // throw; the catch is there so that no future change can crash the node from here.
  o.exposed
    .run(m, f, a)
    .then((outcome) => {
      if (kind === 'call') {
        p.exit(answer(o, p, req, outcome));
        return;
      }
      p.exit(NORMAL);
      if (!outcome.ok) o.logger.warn(`erpc:cast ${String(m)}:${String(f)} from ${peer} failed: ${String(outcome.reason)}`);
    })
    .catch((err: unknown) => o.logger.error(`erpc: cannot answer ${String(m)}:${String(f)} from ${peer}: ${err instanceof Error ? err.message : String(err)}`));
}

/**
 * Sends a call's result to the caller as the DOWN of its monitor, before the process
 * exits, and returns the reason it is to exit with. The result is encoded once, by
 * that send; a value with no Erlang form (the send throws, having sent nothing) is
 * answered `{js_bad_return, Why}` instead, and the process exits with that, so that
 * links see what the caller saw.
 */
function answer(o: ErpcOptions, p: Process, req: SpawnRequest, outcome: Outcome): Term {
  const reason = erpcExitReason(req.args[0], outcome);
  if (!p.alive) return reason; // killed while it ran: the exit has been told already
  try {
    if (req.monitor && o.router.fireDownNow(p, req.reqId, reason)) return reason;
    // Nobody waits for the DOWN (no monitor, or the caller demonitored): the exit
    // still goes to links, if any, so it must encode.
    if (!outcome.ok || unencodable(reason) === undefined) return reason;
    throw new EncodeError(`the result of ${String(outcome.module)}:${String(outcome.fn)} has no Erlang form`);
  } catch (err) {
    if (!outcome.ok) throw err;
    const failed = erpcExitReason(req.args[0], badReturn(outcome, err));
    if (req.monitor) o.router.fireDownNow(p, req.reqId, failed);
    return failed;
  }
}
