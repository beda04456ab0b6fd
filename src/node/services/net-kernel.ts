/**
 * The part of OTP's net_kernel that other nodes talk to: `net_adm:ping/1` is a
 * gen_server call `{is_auth, Node}` to `{net_kernel, Node}` that must answer `yes`
 * (net_kernel.erl handle_call). Without it every ping from BEAM to us says pang.
 */
import { atom, Tuple } from '../../term/types.js';
import { parseGenCall, replyFor } from '../gen.js';
import type { Logger } from '../../logger.js';
import type { Router } from '../router.js';

const IS_AUTH = atom('is_auth');
const YES = atom('yes');
const NOT_SUPPORTED = atom('not_supported');

/** Starts the `net_kernel` process on the node; a system process: it lives until the node stops. */
export function startNetKernel(router: Router, logger: Logger): void {
  const p = router.spawnSystem('net_kernel');
  // serve() cannot reject: it resolves when the process exits; handler errors go to the logger.
  void p.serve((message) => {
    const call = parseGenCall(message);
    if (call === undefined) return;
    const isAuth = call.request instanceof Tuple && call.request[0] === IS_AUTH;
    const { to, message: reply } = replyFor(call.from, isAuth ? YES : NOT_SUPPORTED);
    router.sendReply(p.pid, to, reply);
  }, (err) => logger.error(`net_kernel: ${(err as Error).message}`));
}
