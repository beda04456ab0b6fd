/**
 * Control messages between connected nodes: the DOP_* codes and one builder per
 * message we send. A control message is a tuple whose first element is the code;
 * some are followed by a payload term (the message, or the exit reason).
 * Spec: erts/doc/guides/erl_dist_protocol.md, "Protocol between connected nodes".
 */
import { atom, Atom, Pid, Reference, tuple, type Term, type Tuple } from '../term/types.js';

export const DOP = {
  LINK: 1,
  SEND: 2,
  EXIT: 3,
  /** Obsolete since OTP 26; UNLINK_ID replaces it. */
  UNLINK: 4,
  REG_SEND: 6,
  GROUP_LEADER: 7,
  EXIT2: 8,
  SEND_TT: 12,
  EXIT_TT: 13,
  REG_SEND_TT: 16,
  EXIT2_TT: 18,
  MONITOR_P: 19,
  DEMONITOR_P: 20,
  MONITOR_P_EXIT: 21,
  SEND_SENDER: 22,
  SEND_SENDER_TT: 23,
  PAYLOAD_EXIT: 24,
  PAYLOAD_EXIT_TT: 25,
  PAYLOAD_EXIT2: 26,
  PAYLOAD_EXIT2_TT: 27,
  PAYLOAD_MONITOR_P_EXIT: 28,
  SPAWN_REQUEST: 29,
  SPAWN_REQUEST_TT: 30,
  SPAWN_REPLY: 31,
  SPAWN_REPLY_TT: 32,
  ALIAS_SEND: 33,
  ALIAS_SEND_TT: 34,
  /** The new link protocol, mandatory since OTP 26 (DFLAG_UNLINK_ID). */
  UNLINK_ID: 35,
  UNLINK_ID_ACK: 36,
} as const;
export type DOP = (typeof DOP)[keyof typeof DOP];

/** Control messages that carry a payload term after the control tuple. */
export const WITH_PAYLOAD: ReadonlySet<number> = new Set([
  DOP.SEND, DOP.REG_SEND, DOP.SEND_TT, DOP.REG_SEND_TT, DOP.SEND_SENDER, DOP.SEND_SENDER_TT,
  DOP.PAYLOAD_EXIT, DOP.PAYLOAD_EXIT_TT, DOP.PAYLOAD_EXIT2, DOP.PAYLOAD_EXIT2_TT,
  DOP.PAYLOAD_MONITOR_P_EXIT, DOP.SPAWN_REQUEST, DOP.SPAWN_REQUEST_TT, DOP.ALIAS_SEND, DOP.ALIAS_SEND_TT,
]);

// The "Unused" fields are the empty atom, as OTP sends them.
const EMPTY_ATOM = atom('');

// Builders, named after the message. Payloads are passed separately to the connection.

/** {SEND_SENDER, FromPid, ToPid} + Msg: OTP 21+ uses it when DFLAG_SEND_SENDER is set. */
export const sendSender = (from: Pid, to: Pid): Tuple => tuple(DOP.SEND_SENDER, from, to);
/** {SEND, Unused, ToPid} + Msg */
export const send = (to: Pid): Tuple => tuple(DOP.SEND, EMPTY_ATOM, to);
/** {REG_SEND, FromPid, Unused, ToName} + Msg */
export const regSend = (from: Pid, toName: Atom): Tuple => tuple(DOP.REG_SEND, from, EMPTY_ATOM, toName);
/** {ALIAS_SEND, FromPid, Alias} + Msg */
export const aliasSend = (from: Pid, alias: Reference): Tuple => tuple(DOP.ALIAS_SEND, from, alias);
/** {LINK, FromPid, ToPid} */
export const link = (from: Pid, to: Pid): Tuple => tuple(DOP.LINK, from, to);
/** {UNLINK_ID, Id, FromPid, ToPid} */
export const unlinkId = (id: number | bigint, from: Pid, to: Pid): Tuple => tuple(DOP.UNLINK_ID, id, from, to);
/** {UNLINK_ID_ACK, Id, FromPid, ToPid} */
export const unlinkIdAck = (id: Term, from: Pid, to: Pid): Tuple => tuple(DOP.UNLINK_ID_ACK, id, from, to);
/** {PAYLOAD_EXIT, FromPid, ToPid} + Reason: a linked process exited. */
export const payloadExit = (from: Pid, to: Pid): Tuple => tuple(DOP.PAYLOAD_EXIT, from, to);
/** {PAYLOAD_EXIT2, FromPid, ToPid} + Reason: exit/2. */
export const payloadExit2 = (from: Pid, to: Pid): Tuple => tuple(DOP.PAYLOAD_EXIT2, from, to);
/** {MONITOR_P, FromPid, ToProc, Ref}: ToProc is a pid or a registered name (atom). */
export const monitorP = (from: Pid, to: Pid | Atom, ref: Reference): Tuple => tuple(DOP.MONITOR_P, from, to, ref);
/** {DEMONITOR_P, FromPid, ToProc, Ref} */
export const demonitorP = (from: Pid, to: Pid | Atom, ref: Reference): Tuple => tuple(DOP.DEMONITOR_P, from, to, ref);
/** {PAYLOAD_MONITOR_P_EXIT, FromProc, ToPid, Ref} + Reason */
export const payloadMonitorPExit = (from: Pid | Atom, to: Pid, ref: Reference): Tuple =>
  tuple(DOP.PAYLOAD_MONITOR_P_EXIT, from, to, ref);
/** {SPAWN_REPLY, ReqId, To, Flags, Result}: Result is the new pid or an error atom. */
export const spawnReply = (reqId: Reference, to: Pid, flags: number, result: Term): Tuple =>
  tuple(DOP.SPAWN_REPLY, reqId, to, flags, result);
