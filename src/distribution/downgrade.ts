/**
 * Control messages in the forms a peer understands when it did not advertise the
 * capability the newer form needs. We advertise and prefer the newer forms; a peer
 * that lacks one (an older or a non-BEAM node: erl_interface, jinterface, other
 * implementations) gets the older equivalent, or nothing where there is none.
 * Spec: erts/doc/guides/erl_dist_protocol.md, "Protocol between connected nodes"
 * (each newer message names the flag that enables it); layouts as in control.ts.
 */
import { atom, tuple, type Pid, type Term, type Tuple } from '../term/types.js';
import { DOP, send } from './control.js';
import { DFLAG_ALIAS, DFLAG_EXIT_PAYLOAD, DFLAG_SEND_SENDER, DFLAG_UNLINK_ID } from './flags.js';

/** The "Unused" field of SEND_TT: the empty atom, as OTP sends it. */
const UNUSED = atom('');

/** The capabilities whose absence changes what we send. */
const NEWER_FORMS = DFLAG_SEND_SENDER | DFLAG_EXIT_PAYLOAD | DFLAG_ALIAS | DFLAG_UNLINK_ID;

/** True when a peer with these flags needs some control messages translated (decided once per connection). */
export function needsDowngrade(peerFlags: bigint): boolean {
  return (peerFlags & NEWER_FORMS) !== NEWER_FORMS;
}

/** A control message and its payload, as they go on the wire. */
export interface Outgoing {
  control: Tuple;
  payload: Term | undefined;
}

/**
 * `control` (and `payload`) in a form the peer accepts, or undefined when it has no
 * equivalent the peer understands and must not be sent:
 * - SEND_SENDER {22, From, To} + Msg -> SEND {2, '', To} + Msg without DFLAG_SEND_SENDER (and the _TT forms);
 * - PAYLOAD_EXIT {24, From, To} + Reason -> EXIT {3, From, To, Reason}, PAYLOAD_EXIT2 -> EXIT2 {8, ...},
 *   PAYLOAD_MONITOR_P_EXIT {28, From, To, Ref} + Reason -> MONITOR_P_EXIT {21, From, To, Ref, Reason}
 *   without DFLAG_EXIT_PAYLOAD (and the _TT forms, the token before the reason);
 * - UNLINK_ID {35, Id, From, To} -> UNLINK {4, From, To} without DFLAG_UNLINK_ID; UNLINK_ID_ACK
 *   is dropped (such a peer never sends UNLINK_ID);
 * - ALIAS_SEND (and _TT) is dropped without DFLAG_ALIAS: such a peer has no aliases to send to.
 */
export function downgrade(control: Tuple, payload: Term | undefined, peerFlags: bigint): Outgoing | undefined {
  const has = (flag: bigint) => (peerFlags & flag) !== 0n;
  const c = control;
  switch (c[0]) {
    case DOP.SEND_SENDER:
      return has(DFLAG_SEND_SENDER) ? { control, payload } : { control: send(c[2] as Pid), payload };
    case DOP.SEND_SENDER_TT:
      return has(DFLAG_SEND_SENDER) ? { control, payload } : { control: tuple(DOP.SEND_TT, UNUSED, c[2], c[3]), payload };
    case DOP.PAYLOAD_EXIT:
      return has(DFLAG_EXIT_PAYLOAD) ? { control, payload } : { control: tuple(DOP.EXIT, c[1], c[2], payload as Term), payload: undefined };
    case DOP.PAYLOAD_EXIT_TT:
      return has(DFLAG_EXIT_PAYLOAD) ? { control, payload } : { control: tuple(DOP.EXIT_TT, c[1], c[2], c[3], payload as Term), payload: undefined };
    case DOP.PAYLOAD_EXIT2:
      return has(DFLAG_EXIT_PAYLOAD) ? { control, payload } : { control: tuple(DOP.EXIT2, c[1], c[2], payload as Term), payload: undefined };
    case DOP.PAYLOAD_EXIT2_TT:
      return has(DFLAG_EXIT_PAYLOAD) ? { control, payload } : { control: tuple(DOP.EXIT2_TT, c[1], c[2], c[3], payload as Term), payload: undefined };
    case DOP.PAYLOAD_MONITOR_P_EXIT:
      return has(DFLAG_EXIT_PAYLOAD) ? { control, payload } : { control: tuple(DOP.MONITOR_P_EXIT, c[1], c[2], c[3], payload as Term), payload: undefined };
    case DOP.UNLINK_ID:
      return has(DFLAG_UNLINK_ID) ? { control, payload } : { control: tuple(DOP.UNLINK, c[2], c[3]), payload };
    case DOP.UNLINK_ID_ACK:
      return has(DFLAG_UNLINK_ID) ? { control, payload } : undefined;
    case DOP.ALIAS_SEND:
    case DOP.ALIAS_SEND_TT:
      return has(DFLAG_ALIAS) ? { control, payload } : undefined;
    default:
      return { control, payload };
  }
}
