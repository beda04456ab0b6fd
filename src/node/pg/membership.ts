/**
 * A pg scope's tables, kept as pg.erl keeps them (docs/pg-protocol.md §3): every group
 * with all its members and its local members (pg's ETS table), each joined local
 * process with the groups it joined (with repeats: a process may join a group several
 * times and leaves it as often), and each peer scope with its groups as that peer
 * last told us. Pure: no sending, no monitors; the scope does those.
 *
 * Groups are any Erlang term and compare as Erlang's `=:=` does, by their encoding
 * (two maps with the same pairs inserted in another order are the one exception).
 */
import { encode } from '../../term/encode.js';
import type { Pid, Reference, Term } from '../../term/types.js';
import type { PgGroupMembers } from './messages.js';

/** A change of membership: `pids` joined or left `group`. */
export interface PgEvent {
  type: 'join' | 'leave';
  group: Term;
  pids: Pid[];
}

interface Group {
  group: Term;
  all: Pid[];
  local: Pid[];
}

interface LocalMember {
  pid: Pid;
  ref: Reference;
  /** Keys of the groups joined, once per join. */
  groups: string[];
}

interface Peer {
  pid: Pid;
  ref: Reference;
  /** The peer's groups as it told us, by key. */
  groups: Map<string, PgGroupMembers>;
}

/** The key a group is found by. @throws EncodeError for a value with no Erlang form. */
export function groupKey(group: Term): string {
  return encode(group).toString('latin1');
}

export function pidKey(p: Pid): string {
  return `${p.node.name}/${p.id}/${p.serial}/${p.creation}`;
}

/** Erlang's `A -- B`: each element of `b` removes the first equal one left in `a`. */
export function subtract(a: readonly Pid[], b: readonly Pid[]): Pid[] {
  const out = [...a];
  for (const p of b) {
    const i = out.findIndex((q) => q.equals(p));
    if (i >= 0) out.splice(i, 1);
  }
  return out;
}

export class Membership {
  private readonly groups = new Map<string, Group>();
  private readonly local = new Map<string, LocalMember>();
  private readonly peers = new Map<string, Peer>();

  constructor(private readonly notify: (event: PgEvent) => void) {}

  members(group: Term): Pid[] {
    return [...(this.groups.get(groupKey(group))?.all ?? [])];
  }

  localMembers(group: Term): Pid[] {
    return [...(this.groups.get(groupKey(group))?.local ?? [])];
  }

  whichGroups(): Term[] {
    return [...this.groups.values()].map((g) => g.group);
  }

  whichLocalGroups(): Term[] {
    return [...this.groups.values()].filter((g) => g.local.length > 0).map((g) => g.group);
  }

  /** Every group with its members (monitor_scope's snapshot). */
  snapshot(): PgGroupMembers[] {
    return [...this.groups.values()].map((g) => ({ group: g.group, pids: [...g.all] }));
  }

  /** Our local groups and their members, as a sync carries them (pg's all_local_pids). */
  localGroups(): PgGroupMembers[] {
    return [...this.groups.values()].filter((g) => g.local.length > 0).map((g) => ({ group: g.group, pids: [...g.local] }));
  }

  // Local processes

  /** pg's join_local: `monitor` is asked for a monitor on each process not yet joined anywhere. */
  joinLocal(group: Term, pids: readonly Pid[], monitor: (pid: Pid) => Reference): void {
    const key = groupKey(group);
    for (const pid of pids) {
      const m = this.local.get(pidKey(pid));
      if (m !== undefined) m.groups.unshift(key); // newest first, as pg keeps them
      else this.local.set(pidKey(pid), { pid, ref: monitor(pid), groups: [key] });
    }
    const g = this.groupFor(key, group);
    g.all = [...pids, ...g.all];
    g.local = [...pids, ...g.local];
    this.notify({ type: 'join', group, pids: [...pids] });
  }

  /**
   * pg's leave_local: false when none of `pids` had joined `group` (`not_joined`).
   * `demonitor` gets the monitor of each process that is left in no group.
   */
  leaveLocal(group: Term, pids: readonly Pid[], demonitor: (ref: Reference) => void): boolean {
    const key = groupKey(group);
    let changed = false;
    for (const pid of pids) {
      const m = this.local.get(pidKey(pid));
      const i = m?.groups.indexOf(key) ?? -1;
      if (m === undefined || i < 0) continue;
      changed = true;
      m.groups.splice(i, 1);
      if (m.groups.length === 0) {
        this.local.delete(pidKey(pid));
        demonitor(m.ref);
      }
    }
    if (changed) this.removeMembers(key, pids, true);
    return changed;
  }

  /** A joined local process went down (its monitor `ref` fired): the groups it left, once per join, or undefined. */
  localDown(pid: Pid, ref: Reference): Term[] | undefined {
    const m = this.local.get(pidKey(pid));
    if (m === undefined || !m.ref.equals(ref)) return undefined; // a late DOWN of a process that left
    this.local.delete(pidKey(pid));
    const left: Term[] = [];
    for (const key of m.groups) {
      const g = this.groups.get(key);
      if (g === undefined) continue;
      left.push(g.group);
      this.removeMembers(key, [pid], true);
    }
    return left;
  }

  // Peer scopes

  hasPeer(peer: Pid): boolean {
    return this.peers.has(pidKey(peer));
  }

  peerPids(): Pid[] {
    return [...this.peers.values()].map((p) => p.pid);
  }

  /** A peer scope we now know of, monitored under `ref`, with no groups yet. */
  addPeer(peer: Pid, ref: Reference): void {
    this.peers.set(pidKey(peer), { pid: peer, ref, groups: new Map() });
  }

  /** pg's handle_sync: the peer's groups are now exactly `groups`; the table follows. */
  syncPeer(peer: Pid, groups: readonly PgGroupMembers[]): void {
    const p = this.peers.get(pidKey(peer));
    if (p === undefined) return;
    // A group listed twice (pg never does that) counts as one with both lists.
    const incoming = new Map<string, PgGroupMembers>();
    for (const { group, pids } of groups) {
      const key = groupKey(group);
      const prior = incoming.get(key);
      incoming.set(key, { group, pids: [...(prior?.pids ?? []), ...pids] });
    }
    for (const [key, { group, pids }] of incoming) {
      const old = p.groups.get(key);
      if (old !== undefined && sameList(old.pids, pids)) continue;
      if (old !== undefined) this.removeMembers(key, old.pids, false);
      if (pids.length > 0) this.addRemote(key, group, pids);
    }
    for (const [key, old] of p.groups) if (!incoming.has(key)) this.removeMembers(key, old.pids, false);
    p.groups = new Map([...incoming].filter(([, g]) => g.pids.length > 0));
  }

  /** pg's join from a peer; ignored from a peer we do not know (as pg does). */
  joinRemote(peer: Pid, group: Term, pids: readonly Pid[]): void {
    const p = this.peers.get(pidKey(peer));
    if (p === undefined || pids.length === 0) return;
    const key = groupKey(group);
    this.addRemote(key, group, pids);
    const old = p.groups.get(key);
    p.groups.set(key, { group, pids: [...pids, ...(old?.pids ?? [])] });
  }

  /**
   * pg's leave from a peer. Only members the peer itself joined are removed, and a
   * group it never told us of is skipped (pg would crash on it with badkey).
   */
  leaveRemote(peer: Pid, pids: readonly Pid[], groups: readonly Term[]): void {
    const p = this.peers.get(pidKey(peer));
    if (p === undefined) return;
    for (const group of groups) {
      const key = groupKey(group);
      const held = p.groups.get(key);
      if (held === undefined) continue;
      const remaining = subtract(held.pids, pids);
      const gone = subtract(held.pids, remaining);
      if (remaining.length === 0) p.groups.delete(key);
      else p.groups.set(key, { group: held.group, pids: remaining });
      if (gone.length > 0) this.removeMembers(key, gone, false);
    }
  }

  /** A peer scope went down (its monitor `ref` fired, or its node did): its members leave. False if unknown. */
  peerDown(peer: Pid, ref: Reference): boolean {
    const p = this.peers.get(pidKey(peer));
    if (p === undefined || !p.ref.equals(ref)) return false;
    this.peers.delete(pidKey(peer));
    for (const [key, g] of p.groups) this.removeMembers(key, g.pids, false);
    return true;
  }

  private groupFor(key: string, group: Term): Group {
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = { group, all: [], local: [] }));
    return g;
  }

  private addRemote(key: string, group: Term, pids: readonly Pid[]): void {
    const g = this.groupFor(key, group);
    g.all = [...pids, ...g.all];
    this.notify({ type: 'join', group: g.group, pids: [...pids] });
  }

  /** Takes `pids` out of a group (and out of its local members when they are ours); an emptied group goes. */
  private removeMembers(key: string, pids: readonly Pid[], local: boolean): void {
    const g = this.groups.get(key);
    if (g === undefined) return;
    g.all = subtract(g.all, pids);
    if (local) g.local = subtract(g.local, pids);
    if (g.all.length === 0 && g.local.length === 0) this.groups.delete(key);
    this.notify({ type: 'leave', group: g.group, pids: [...pids] });
  }
}

function sameList(a: readonly Pid[], b: readonly Pid[]): boolean {
  return a.length === b.length && a.every((p, i) => p.equals(b[i]));
}
