/**
 * The messages pg scope processes exchange (OTP's lib/kernel/src/pg.erl, the same in
 * OTP 25, 27 and 28; docs/pg-protocol.md). One build and one parse per message, so
 * nothing else in the node takes pg tuples apart by position.
 *
 * | message                                   | sent as                                  |
 * |-------------------------------------------|------------------------------------------|
 * | `{discover, Peer}`                        | plain message, to `{Scope, Node}` or Peer |
 * | `{discover, Peer, Vsn}` (receive only)    | "to be used by OTP 28 or later"; OTP 25 crashes on it |
 * | `{'$gen_cast', {sync, Peer, Groups}}`     | gen_server:cast to a peer scope's pid     |
 * | `{join, Peer, Group, PidOrPids}`          | plain message to every known peer         |
 * | `{leave, Peer, PidOrPids, Groups}`        | plain message to every known peer         |
 *
 * A pg scope raises `badarg` on any other message (its catch-all clauses), and a
 * `leave` naming a group the scope does not hold for us crashes it with `badkey`:
 * the builders here are the only way our scopes talk to theirs.
 */
import { atom, Pid, Tuple, tuple, type Term } from '../../term/types.js';
import { GEN_CAST } from '../gen.js';

const DISCOVER = atom('discover');
const SYNC = atom('sync');
const JOIN = atom('join');
const LEAVE = atom('leave');

/** A group and its members, as a sync carries them. */
export interface PgGroupMembers {
  group: Term;
  pids: Pid[];
}

/** What a peer scope can send us, parsed. `peer` is the sending scope process. */
export type PgMessage =
  | { type: 'discover'; peer: Pid }
  | { type: 'sync'; peer: Pid; groups: PgGroupMembers[] }
  | { type: 'join'; peer: Pid; group: Term; pids: Pid[] }
  | { type: 'leave'; peer: Pid; pids: Pid[]; groups: Term[] };

/** `{discover, Self}`: the form every pg version sends and accepts (OTP 25 accepts no other). */
export function buildDiscover(self: Pid): Tuple {
  return tuple(DISCOVER, self);
}

/** `{'$gen_cast', {sync, Self, [{Group, [Pid]}]}}`: our whole local membership. Groups are never empty. */
export function buildSync(self: Pid, groups: readonly PgGroupMembers[]): Tuple {
  return tuple(GEN_CAST, tuple(SYNC, self, groups.map((g) => tuple(g.group, g.pids))));
}

/** `{join, Self, Group, PidOrPids}`: a single pid when one joined, else the list, as pg sends what join/3 was given. */
export function buildJoin(self: Pid, group: Term, pids: Pid | readonly Pid[]): Tuple {
  return tuple(JOIN, self, group, pids instanceof Pid ? pids : [...pids]);
}

/** `{leave, Self, PidOrPids, [Group]}`. */
export function buildLeave(self: Pid, pids: Pid | readonly Pid[], groups: readonly Term[]): Tuple {
  return tuple(LEAVE, self, pids instanceof Pid ? pids : [...pids], [...groups]);
}

/** The pg message `m` is, or undefined when it is none (or malformed: pg would crash, we ignore it). */
export function parsePgMessage(m: Term): PgMessage | undefined {
  if (!(m instanceof Tuple)) return undefined;
  const kind = m[0];
  if (kind === DISCOVER && (m.length === 2 || m.length === 3) && m[1] instanceof Pid) return { type: 'discover', peer: m[1] };
  if (kind === GEN_CAST && m.length === 2) return parseSync(m[1]);
  if (kind === JOIN && m.length === 4 && m[1] instanceof Pid) {
    const pids = pidOrPids(m[3]);
    return pids === undefined ? undefined : { type: 'join', peer: m[1], group: m[2], pids };
  }
  if (kind === LEAVE && m.length === 4 && m[1] instanceof Pid && isList(m[3])) {
    const pids = pidOrPids(m[2]);
    return pids === undefined ? undefined : { type: 'leave', peer: m[1], pids, groups: m[3] };
  }
  return undefined;
}

function parseSync(cast: Term): PgMessage | undefined {
  if (!(cast instanceof Tuple) || cast.length !== 3 || cast[0] !== SYNC || !(cast[1] instanceof Pid) || !isList(cast[2])) return undefined;
  const groups: PgGroupMembers[] = [];
  for (const entry of cast[2]) {
    if (!(entry instanceof Tuple) || entry.length !== 2) return undefined;
    const pids = isList(entry[1]) ? pidOrPids(entry[1]) : undefined;
    if (pids === undefined) return undefined;
    groups.push({ group: entry[0], pids });
  }
  return { type: 'sync', peer: cast[1], groups };
}

/** A proper list (decoded lists are arrays that are not tuples). */
function isList(t: Term): t is Term[] {
  return Array.isArray(t) && !(t instanceof Tuple);
}

function pidOrPids(t: Term): Pid[] | undefined {
  if (t instanceof Pid) return [t];
  if (!isList(t) || !t.every((p) => p instanceof Pid)) return undefined;
  return t as Pid[];
}
