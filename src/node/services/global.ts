/**
 * Enough of OTP's `global` for BEAM peers to stay healthy with a visible TS node
 * among them. On connect, each OTP node's global_name_server casts us
 * `{init_connect, {Vsn, Tag}, Node, _}` and, until answered, its `global:sync()`
 * blocks forever. We answer with `{in_sync, OurNode, true}` (global.erl
 * handle_cast({in_sync, ...})): the OTP node marks us synced, releases its
 * syncers, and never adds us to its `known` nodes, so its name registrations and
 * partition prevention leave us out. We register no global names ourselves.
 *
 * Calls are answered the only way global's callers accept (anything else crashes
 * them, and global's own locker is supervised by kernel): `set_lock`/`del_lock` →
 * true, `register`/`register_ext` → yes, `unregister` → ok. Verified against OTP 25
 * and 27 (test/interop/global.test.ts).
 */
import type { Logger } from '../../logger.js';
import { atom, Atom, Pid, Tuple, tuple, type Term } from '../../term/types.js';
import { GEN_CAST, parseGenCall, replyFor } from '../gen.js';
import type { Router } from '../router.js';

const INIT_CONNECT = atom('init_connect');
const IN_SYNC = atom('in_sync');
const WHEREIS = atom('whereis');
const UNDEFINED = atom('undefined');
const ANSWERS = new Map<Atom, Term>([
  [atom('set_lock'), true],
  [atom('del_lock'), true],
  [atom('register'), atom('yes')],
  [atom('register_ext'), atom('yes')],
  [atom('unregister'), atom('ok')],
]);

/** Starts `global_name_server` on a visible node; a system process: it lives until the node stops. */
export function startGlobal(router: Router, self: Atom, logger: Logger): void {
  const p = router.spawnSystem('global_name_server');
  // serve() cannot reject: it resolves when the process exits; handler errors go to the logger.
  void p.serve((message) => {
    if (message instanceof Tuple && message[0] === GEN_CAST) {
      const cast = message[1];
      if (cast instanceof Tuple && cast[0] === INIT_CONNECT && cast[2] instanceof Atom) {
        p.send({ name: 'global_name_server', node: cast[2].name }, tuple(GEN_CAST, tuple(IN_SYNC, self, true)));
      }
      return;
    }
    // {whereis, Name, From}, global's handle_info: we hold no global names, so the
    // answer is always undefined (node.globalWhereis asks BEAM nodes the same way).
    if (message instanceof Tuple && message.length === 3 && message[0] === WHEREIS && message[2] instanceof Tuple && message[2].length === 2 && message[2][0] instanceof Pid) {
      const { to, message: reply } = replyFor(message[2], UNDEFINED);
      router.sendReply(p.pid, to, reply);
      return;
    }
    const call = parseGenCall(message);
    if (call === undefined) return;
    const kind = call.request instanceof Tuple ? call.request[0] : call.request;
    const answer = kind instanceof Atom ? ANSWERS.get(kind) : undefined;
    if (answer === undefined) {
      // global's own catch-all does not reply either.
      logger.debug(`global_name_server: unexpected call ${String(kind)}`);
      return;
    }
    const { to, message: reply } = replyFor(call.from, answer);
    router.sendReply(p.pid, to, reply);
  }, (err) => logger.error(`global_name_server: ${(err as Error).message}`));
}
