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
 *   connects, answered `{features_reply, Node, [erpc]}` so rpc uses erpc with us;
 * - `{From, {sbcast, Name, Msg}}` (rpc:sbcast, which waits for every node's answer)
 *   and `{From, {send, Name, Msg}}`: `Name ! Msg` (`Name ! {From, Msg}`) for a
 *   registered TS process, answered `{rex, Node, Node}` (sbcast only) or
 *   `{rex, Node, {nonexisting_name, Name}}`.
 *
 * The reply is what rpc.erl's execute_call/3 makes: the value, or
 * `{badrpc, {'EXIT', {Reason, Stack}}}` (see rpc.ts for the reasons). Every call runs
 * on its own, so a slow function does not hold up the next call. A block_call is
 * served like a call: nothing here shares a group leader that it would protect.
 */
import type { Logger } from '../../logger.js';
import { atom, Atom, Pid, Tuple, tuple, type Term } from '../../term/types.js';
import { asReceived, type Binaries } from '../binaries.js';
import { parseGenCall, replyFor } from '../gen.js';
import type { Process } from '../process.js';
import { badReturn, parseRexCall, rexReply, type ExposedModules } from '../rpc.js';
import type { Router } from '../router.js';

const REX = atom('rex');
const ERPC = atom('erpc');
const FEATURES_REQUEST = atom('features_request');
const FEATURES_REPLY = atom('features_reply');
const SBCAST = atom('sbcast');
const SEND = atom('send');
const NONEXISTING_NAME = atom('nonexisting_name');

export interface RexOptions {
  router: Router;
  nodeAtom: Atom;
  exposed: ExposedModules;
  logger: Logger;
  /**
   * How exposed functions take binaries in their arguments (the node's `binaries`
   * option). rex itself decodes with Buffers (binaries.ts), so arguments are converted
   * for the call, as erpc's are decoded.
   */
  binaries: Binaries;
}

/** Starts the `rex` process on the node; a system process: it lives until the node stops. */
export function startRex(o: RexOptions): void {
  const rex = o.router.spawnSystem('rex');
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
    const request = message[1];
    if (request instanceof Tuple && request.length === 3 && (request[0] === SBCAST || request[0] === SEND)) {
      forward(o, rex, from, request[0] === SBCAST, request[1], request[2]);
      return;
    }
    const call = parseRexCall(request);
    if (call !== undefined) answer(o, call, (reply) => o.router.sendCheckedReply(rex.pid, from, tuple(REX, reply)));
    return;
  }
  const genCall = parseGenCall(message);
  const call = genCall === undefined ? undefined : parseRexCall(genCall.request);
  if (genCall === undefined || call === undefined) return;
  answer(o, call, (reply) => {
    const { to, message: m } = replyFor(genCall.from, reply);
    o.router.sendCheckedReply(rex.pid, to, m);
  });
}

/**
 * Runs the call and sends its reply with `send`, which encodes it once and throws,
 * having sent nothing, when it has no Erlang form: the caller then gets
 * `{js_bad_return, Why}` instead. A failure to send that (rex stopped with the node)
 * is logged, never thrown.
 */
function answer(o: RexOptions, call: { module: Term; fn: Term; args: Term }, send: (reply: Term) => void): void {
  o.exposed
    .run(call.module, call.fn, asReceived(call.args, o.binaries))
    .then((outcome) => {
      try {
        send(rexReply(outcome));
      } catch (err) {
        if (!outcome.ok) throw err;
        send(rexReply(badReturn(outcome, err)));
      }
    })
    .catch((err: unknown) => o.logger.error(`rex: cannot answer ${String(call.module)}:${String(call.fn)}: ${describe(err)}`));
}

/**
 * rpc.erl's `catch Name ! Msg` for sbcast and send. Only local registered names are
 * served (rpc:sbcast's Name is an atom): rex relays nothing to pids, here or on
 * other nodes.
 */
function forward(o: RexOptions, rex: Process, from: Pid, isSbcast: boolean, name: Term, msg: Term): void {
  const target = name instanceof Atom ? o.router.registry.whereis(name.name) : undefined;
  if (target === undefined) {
    rex.send(from, tuple(REX, o.nodeAtom, tuple(NONEXISTING_NAME, name)));
    return;
  }
  // As the target would have had it from the caller's node directly.
  const relayed = asReceived(msg, target.binaries);
  target.deliver(isSbcast ? relayed : tuple(from, relayed));
  if (isSbcast) rex.send(from, tuple(REX, o.nodeAtom, o.nodeAtom));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
