/**
 * `rex`, the registered process rpc.erl talks to (lib/kernel/src/rpc.erl). Since
 * OTP 23 rpc:call goes through erpc (services/erpc.ts), so what still arrives here is:
 *
 * - `{'$gen_call', From, {call | block_call, M, F, A, GroupLeader}}` from rpc:block_call
 *   and older callers, answered like gen_server:reply/2;
 * - `{From, {call, M, F, A, GroupLeader}}`, the plain form hidden C nodes send
 *   (erl_interface's ei_rpc, hence `erl_call -a`), answered `From ! {rex, Reply}`
 *   (rpc.erl handle_info, "Special for hidden C node's");
 * - `{From, features_request}` from the rpc nodes observer of each OTP node that
 *   connects, answered `{features_reply, Node, [erpc]}` so rpc uses erpc with us.
 *
 * The reply is what rpc.erl's execute_call/3 makes: the value, or
 * `{badrpc, {'EXIT', {Reason, Stack}}}` (see rpc.ts for the reasons). Every call runs
 * on its own, so a slow function does not hold up the next call. A block_call is
 * served like a call: nothing here shares a group leader that it would protect.
 */
import type { Logger } from '../../logger.js';
import { atom, Pid, Tuple, tuple, type Atom, type Term } from '../../term/types.js';
import { parseGenCall, replyFor } from '../gen.js';
import type { Process } from '../process.js';
import { parseRexCall, rexReply, type ExposedModules } from '../rpc.js';
import type { Signals } from '../signals.js';

const REX = atom('rex');
const ERPC = atom('erpc');
const FEATURES_REQUEST = atom('features_request');
const FEATURES_REPLY = atom('features_reply');

export interface RexOptions {
  signals: Signals;
  nodeAtom: Atom;
  exposed: ExposedModules;
  logger: Logger;
}

/** Starts the `rex` process on the node; it lives until the node stops. */
export function startRex(o: RexOptions): void {
  const rex = o.signals.spawn('rex');
  // serve() cannot reject: it ends when rex exits, and handler errors go to the logger.
  void rex.serve(
    (message) => onMessage(o, rex, message),
    (err) => o.logger.error(`rex: ${describe(err)}`),
  );
}

function onMessage(o: RexOptions, rex: Process, message: Term): void {
  if (!(message instanceof Tuple)) return;
  if (message.length === 2 && message[0] instanceof Pid) {
    const from = message[0];
    if (message[1] === FEATURES_REQUEST) {
      rex.send(from, tuple(FEATURES_REPLY, o.nodeAtom, [ERPC]));
      return;
    }
    const call = parseRexCall(message[1]);
    if (call !== undefined) answer(o, call, (reply) => rex.send(from, tuple(REX, reply)));
    return;
  }
  const genCall = parseGenCall(message);
  const call = genCall === undefined ? undefined : parseRexCall(genCall.request);
  if (genCall === undefined || call === undefined) return;
  answer(o, call, (reply) => {
    const { to, message: m } = replyFor(genCall.from, reply);
    o.signals.sendReply(rex, to, m);
  });
}

/** Runs the call and sends its reply. A failure to send (rex stopped with the node) is logged, never thrown. */
function answer(o: RexOptions, call: { module: Term; fn: Term; args: Term }, send: (reply: Term) => void): void {
  o.exposed
    .run(call.module, call.fn, call.args)
    .then((outcome) => send(rexReply(outcome)))
    .catch((err: unknown) => o.logger.error(`rex: cannot answer ${String(call.module)}:${String(call.fn)}: ${describe(err)}`));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
