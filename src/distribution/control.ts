/**
 * Control messages between connected nodes: the DOP_* codes and one builder per
 * message we send. A control message is a tuple whose first element is the code;
 * some are followed by a payload term (the message, or the exit reason).
 * Spec: erts/doc/guides/erl_dist_protocol.md, "Protocol between connected nodes".
 */
import { DistProtocolError } from '../errors.js';
import { atom, Atom, Pid, Reference, Tuple, tuple, type Term } from '../term/types.js';

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

/**
 * A control message from a peer, parsed and checked: what the node routes. Every
 * variant of a message (the trace-token `_TT` forms, the payload forms, SEND with or
 * without a sender) collapses into one shape, so nothing above this file indexes
 * control tuples by position.
 */
export type ControlMessage =
  /** SEND, SEND_TT, SEND_SENDER, SEND_SENDER_TT: `from` is absent in the plain SEND forms. */
  | { op: 'send'; from: Pid | undefined; to: Pid; message: Term }
  | { op: 'reg_send'; from: Pid; name: Atom; message: Term }
  | { op: 'alias_send'; from: Pid; alias: Reference; message: Term }
  | { op: 'link'; from: Pid; to: Pid }
  /** UNLINK (before OTP 26) carries no id; UNLINK_ID does and wants an UNLINK_ID_ACK. */
  | { op: 'unlink'; id: Term | undefined; from: Pid; to: Pid }
  | { op: 'unlink_ack'; id: Term; from: Pid; to: Pid }
  /** EXIT, EXIT_TT, PAYLOAD_EXIT, PAYLOAD_EXIT_TT: a linked process exited. */
  | { op: 'exit'; from: Pid; to: Pid; reason: Term }
  /** EXIT2 and its variants: exit/2. */
  | { op: 'exit2'; from: Pid; to: Pid; reason: Term }
  | { op: 'monitor'; from: Pid; target: Pid | Atom; ref: Reference }
  | { op: 'demonitor'; from: Pid; target: Pid | Atom; ref: Reference }
  /** MONITOR_P_EXIT, PAYLOAD_MONITOR_P_EXIT: what we monitored went down. */
  | { op: 'monitor_exit'; target: Pid | Atom; to: Pid; ref: Reference; reason: Term }
  | { op: 'spawn_request'; reqId: Reference; from: Pid; groupLeader: Pid; module: Atom; fn: Atom; arity: number; options: Term[]; args: Term[] }
  | { op: 'spawn_reply'; reqId: Reference; to: Pid; flags: number; result: Term }
  | { op: 'group_leader'; from: Pid; to: Pid };

/** A SPAWN_REQUEST, parsed: what erpc (services/erpc.ts) serves. */
export type SpawnRequestMessage = Extract<ControlMessage, { op: 'spawn_request' }>;

/**
 * Parses a control tuple and its payload. Returns `undefined` for an operation code
 * we do not know; throws DistProtocolError for a known one whose fields are wrong
 * (BEAM drops a connection that sends such a message, and so do we).
 */
export function parseControl(control: Tuple, payload: Term | undefined, peer: string): ControlMessage | undefined {
  const op = control[0] as number;
  const size = CONTROL_SIZE.get(op);
  if (size === undefined) return undefined;
  if (control.length !== size) malformed(control, peer, `${control.length} elements, ${size} expected`);
  if (WITH_PAYLOAD.has(op) !== (payload !== undefined)) malformed(control, peer, payload === undefined ? 'no payload' : 'unexpected payload');
  const message = payload as Term;
  switch (op) {
    case DOP.SEND:
    case DOP.SEND_TT:
      return { op: 'send', from: undefined, to: pidAt(control, 2, peer), message };
    case DOP.SEND_SENDER:
    case DOP.SEND_SENDER_TT:
      return { op: 'send', from: pidAt(control, 1, peer), to: pidAt(control, 2, peer), message };
    case DOP.REG_SEND:
    case DOP.REG_SEND_TT:
      return { op: 'reg_send', from: pidAt(control, 1, peer), name: control[3] instanceof Atom ? control[3] : malformed(control, peer, 'element 3 is not an atom'), message };
    case DOP.ALIAS_SEND:
    case DOP.ALIAS_SEND_TT:
      return { op: 'alias_send', from: pidAt(control, 1, peer), alias: refAt(control, 2, peer), message };
    case DOP.LINK:
      return { op: 'link', from: pidAt(control, 1, peer), to: pidAt(control, 2, peer) };
    case DOP.UNLINK:
      return { op: 'unlink', id: undefined, from: pidAt(control, 1, peer), to: pidAt(control, 2, peer) };
    case DOP.UNLINK_ID:
      return { op: 'unlink', id: control[1], from: pidAt(control, 2, peer), to: pidAt(control, 3, peer) };
    case DOP.UNLINK_ID_ACK:
      return { op: 'unlink_ack', id: control[1], from: pidAt(control, 2, peer), to: pidAt(control, 3, peer) };
    case DOP.EXIT:
    case DOP.EXIT_TT:
      return { op: 'exit', from: pidAt(control, 1, peer), to: pidAt(control, 2, peer), reason: control[size - 1] };
    case DOP.PAYLOAD_EXIT:
    case DOP.PAYLOAD_EXIT_TT:
      return { op: 'exit', from: pidAt(control, 1, peer), to: pidAt(control, 2, peer), reason: message };
    case DOP.EXIT2:
    case DOP.EXIT2_TT:
      return { op: 'exit2', from: pidAt(control, 1, peer), to: pidAt(control, 2, peer), reason: control[size - 1] };
    case DOP.PAYLOAD_EXIT2:
    case DOP.PAYLOAD_EXIT2_TT:
      return { op: 'exit2', from: pidAt(control, 1, peer), to: pidAt(control, 2, peer), reason: message };
    case DOP.MONITOR_P:
      return { op: 'monitor', from: pidAt(control, 1, peer), target: procAt(control, 2, peer), ref: refAt(control, 3, peer) };
    case DOP.DEMONITOR_P:
      return { op: 'demonitor', from: pidAt(control, 1, peer), target: procAt(control, 2, peer), ref: refAt(control, 3, peer) };
    case DOP.MONITOR_P_EXIT:
      return { op: 'monitor_exit', target: procAt(control, 1, peer), to: pidAt(control, 2, peer), ref: refAt(control, 3, peer), reason: control[4] };
    case DOP.PAYLOAD_MONITOR_P_EXIT:
      return { op: 'monitor_exit', target: procAt(control, 1, peer), to: pidAt(control, 2, peer), ref: refAt(control, 3, peer), reason: message };
    case DOP.SPAWN_REQUEST:
    case DOP.SPAWN_REQUEST_TT: {
      const mfa = control[4];
      if (!(mfa instanceof Tuple) || mfa.length !== 3 || !(mfa[0] instanceof Atom) || !(mfa[1] instanceof Atom) || typeof mfa[2] !== 'number') {
        return malformed(control, peer, 'element 4 is not {Module, Function, Arity}');
      }
      const options = control[5];
      if (!isProperList(options)) return malformed(control, peer, 'element 5 is not a list of options');
      if (!isProperList(message)) return malformed(control, peer, 'the argument list is not a list');
      return { op: 'spawn_request', reqId: refAt(control, 1, peer), from: pidAt(control, 2, peer), groupLeader: pidAt(control, 3, peer), module: mfa[0], fn: mfa[1], arity: mfa[2], options, args: message };
    }
    case DOP.SPAWN_REPLY:
    case DOP.SPAWN_REPLY_TT:
      return { op: 'spawn_reply', reqId: refAt(control, 1, peer), to: pidAt(control, 2, peer), flags: typeof control[3] === 'number' ? control[3] : malformed(control, peer, 'element 3 is not a number'), result: control[4] };
    case DOP.GROUP_LEADER:
      return { op: 'group_leader', from: pidAt(control, 1, peer), to: pidAt(control, 2, peer) };
    default:
      return undefined;
  }
}

// The field readers of parseControl are module functions, not closures made per
// message: parseControl runs for every message received.

function malformed(control: Tuple, peer: string, what: string): never {
  throw new DistProtocolError(`malformed control message ${String(control[0])}: ${what}`, peer);
}

function pidAt(control: Tuple, i: number, peer: string): Pid {
  const v = control[i];
  return v instanceof Pid ? v : malformed(control, peer, `element ${i} is not a pid`);
}

function refAt(control: Tuple, i: number, peer: string): Reference {
  const v = control[i];
  return v instanceof Reference ? v : malformed(control, peer, `element ${i} is not a reference`);
}

function procAt(control: Tuple, i: number, peer: string): Pid | Atom {
  const v = control[i];
  return v instanceof Pid || v instanceof Atom ? v : malformed(control, peer, `element ${i} is not a pid or a name`);
}

/** How many elements each control tuple has (the `_TT` forms carry a trace token more). */
const CONTROL_SIZE: ReadonlyMap<number, number> = new Map([
  [DOP.LINK, 3], [DOP.SEND, 3], [DOP.EXIT, 4], [DOP.UNLINK, 3], [DOP.REG_SEND, 4], [DOP.GROUP_LEADER, 3],
  [DOP.EXIT2, 4], [DOP.SEND_TT, 4], [DOP.EXIT_TT, 5], [DOP.REG_SEND_TT, 5], [DOP.EXIT2_TT, 5],
  [DOP.MONITOR_P, 4], [DOP.DEMONITOR_P, 4], [DOP.MONITOR_P_EXIT, 5], [DOP.SEND_SENDER, 3], [DOP.SEND_SENDER_TT, 4],
  [DOP.PAYLOAD_EXIT, 3], [DOP.PAYLOAD_EXIT_TT, 4], [DOP.PAYLOAD_EXIT2, 3], [DOP.PAYLOAD_EXIT2_TT, 4],
  [DOP.PAYLOAD_MONITOR_P_EXIT, 4], [DOP.SPAWN_REQUEST, 6], [DOP.SPAWN_REQUEST_TT, 7], [DOP.SPAWN_REPLY, 5],
  [DOP.SPAWN_REPLY_TT, 6], [DOP.ALIAS_SEND, 3], [DOP.ALIAS_SEND_TT, 4], [DOP.UNLINK_ID, 4], [DOP.UNLINK_ID_ACK, 4],
]);

function isProperList(t: Term): t is Term[] {
  return Array.isArray(t) && !(t instanceof Tuple);
}
