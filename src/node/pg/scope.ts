/**
 * A pg scope on a TS node: a system process registered under the scope's name, which
 * real pg scope processes on BEAM nodes (OTP 23+) take for one of their own
 * (docs/pg-protocol.md). It speaks pg's protocol exactly (messages.ts) and keeps
 * pg's tables (membership.ts):
 *
 * - on nodeup, and when it starts, `{discover, Self}` goes to `{Scope, Node}`;
 * - a discover is answered with our sync, and a discover back when the peer is new,
 *   whose scope process is then monitored: when it goes (or its node does), its
 *   members leave;
 * - joins and leaves go to every known peer; a joined process is monitored, and
 *   when it exits it leaves all its groups and the peers are told.
 *
 * Everything goes out `noconnect`, as pg sends. The one addition to pg: a sync from
 * a peer we did not know is answered with our sync, so that no peer ever gets a
 * `leave` for a group it has not heard of from us (which would crash its scope).
 */
import { NotRunningError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { atom, Pid, Reference, Tuple, type Term } from '../../term/types.js';
import { Process } from '../process.js';
import type { Router } from '../router.js';
import { buildDiscover, buildJoin, buildLeave, buildSync, parsePgMessage, type PgGroupMembers, type PgMessage } from './messages.js';
import { groupKey, Membership, type PgEvent } from './membership.js';

const DOWN = atom('DOWN');
const PROCESS = atom('process');

/** Who joins or leaves: a local process or pid, or a list of them. */
export type PgMembers = Process | Pid | ReadonlyArray<Process | Pid>;

/** Gets every join and leave a monitor covers. Runs inside the node: it should return quickly and not throw. */
export type PgListener = (event: PgEvent) => void;

/** What `monitorScope` returns: every group with its members at that moment, and the way to stop. */
export interface PgScopeMonitor {
  groups: PgGroupMembers[];
  /** Stops the events; false when already stopped. */
  demonitor(): boolean;
}

/** What `monitor(group)` returns: the group's members at that moment, and the way to stop. */
export interface PgGroupMonitor {
  members: Pid[];
  /** Stops the events; false when already stopped. */
  demonitor(): boolean;
}

/** What a scope needs from its node. */
export interface PgScopeHost {
  router: Router;
  logger: Logger;
  /** Names of the connected visible nodes (`nodes()`). */
  visibleNodes(): string[];
  /** Whether a connection to `node` is up. */
  connected(node: string): boolean;
}

/**
 * One pg scope of a TS node, as `node.pg(name)` gives it: join and leave local
 * processes, read the members of every node's processes, and follow changes. BEAM
 * nodes running a pg scope of the same name share its groups (docs/pg-protocol.md).
 */
export class PgScope {
  /** The scope's name, which is also its process's registered name. */
  readonly name: string;
  private readonly process: Process;
  private readonly table: Membership;
  private readonly scopeListeners = new Set<PgListener>();
  private readonly groupListeners = new Map<string, Set<PgListener>>();
  /** Events waiting for their listeners, each with the listeners it had when it happened. */
  private readonly pendingEvents: Array<{ event: PgEvent; listeners: PgListener[] }> = [];
  private delivering = false;

  private constructor(
    name: string,
    private readonly host: PgScopeHost,
  ) {
    this.name = name;
    this.process = host.router.spawnSystem(name);
    this.table = new Membership((event) => this.notify(event));
  }

  /** @internal Starts the scope: use `node.pg(name)`. */
  static start(name: string, host: PgScopeHost): PgScope {
    const scope = new PgScope(name, host);
    // serve() cannot reject: it resolves when the process exits; handler errors go to the logger.
    void scope.process.serve(
      (m) => scope.onMessage(m),
      (err) => host.logger.error(`pg scope ${name}: ${err instanceof Error ? err.message : String(err)}`),
    );
    for (const node of host.visibleNodes()) scope.nodeup(node);
    return scope;
  }

  /** The scope process's pid. */
  get pid(): Pid {
    return this.process.pid;
  }

  /**
   * Joins local processes to `group` (any Erlang term: `atom('name')`, a string, which
   * is an Erlang binary, a `tuple(...)`), like pg:join/3. A process may join a group
   * several times, and must then leave it as often. Processes that exit leave by
   * themselves.
   * @throws TypeError for a process of another node; NotRunningError once the node stopped; EncodeError for a group with no Erlang form.
   */
  join(group: Term, members: PgMembers): void {
    const pids = this.localPids(members);
    groupKey(group); // a group that cannot be encoded fails here, before anything changes
    if (pids.length === 0) return; // pg would make an empty group everywhere
    this.table.joinLocal(group, pids, (pid) => this.process.monitor(pid));
    this.broadcast(buildJoin(this.pid, group, single(members) ?? pids));
    this.deliverEvents();
  }

  /**
   * Makes local processes leave `group` once, like pg:leave/3: `'not_joined'` when
   * none of them had joined it.
   * @throws TypeError for a process of another node; NotRunningError once the node stopped.
   */
  leave(group: Term, members: PgMembers): 'ok' | 'not_joined' {
    const pids = this.localPids(members);
    if (!this.table.leaveLocal(group, pids, (ref) => this.process.demonitor(ref))) return 'not_joined';
    this.broadcast(buildLeave(this.pid, single(members) ?? pids, [group]));
    this.deliverEvents();
    return 'ok';
  }

  /** Every member of `group` on every node of the scope, like pg:get_members/2 (repeats for repeated joins). */
  getMembers(group: Term): Pid[] {
    return this.table.members(group);
  }

  /** The members of `group` on this node, like pg:get_local_members/2. */
  getLocalMembers(group: Term): Pid[] {
    return this.table.localMembers(group);
  }

  /** Every group with at least one member, like pg:which_groups/1. */
  whichGroups(): Term[] {
    return this.table.whichGroups();
  }

  /** The groups with members on this node, like pg:which_local_groups/1. */
  whichLocalGroups(): Term[] {
    return this.table.whichLocalGroups();
  }

  /** Calls `listener` for every join and leave in the scope from now on, like pg:monitor_scope/1. */
  monitorScope(listener: PgListener): PgScopeMonitor {
    this.assertRunning();
    this.scopeListeners.add(listener);
    return { groups: this.table.snapshot(), demonitor: () => this.scopeListeners.delete(listener) };
  }

  /** Calls `listener` for every join and leave in `group` from now on, like pg:monitor/2. */
  monitor(group: Term, listener: PgListener): PgGroupMonitor {
    this.assertRunning();
    const key = groupKey(group);
    let set = this.groupListeners.get(key);
    if (set === undefined) this.groupListeners.set(key, (set = new Set()));
    set.add(listener);
    return {
      members: this.table.members(group),
      demonitor: () => {
        const listeners = this.groupListeners.get(key);
        const removed = listeners?.delete(listener) ?? false;
        if (listeners?.size === 0) this.groupListeners.delete(key);
        return removed;
      },
    };
  }

  /** @internal A visible node came up: look for its scope of the same name, as pg does on `{nodeup, Node}`. */
  nodeup(node: string): void {
    if (!this.process.alive) return;
    this.host.router.routeNoconnect(this.pid, { name: this.name, node }, buildDiscover(this.pid));
  }

  private onMessage(m: Term): void {
    try {
      this.handle(m);
    } finally {
      this.deliverEvents(); // what changed before an error still reaches the listeners
    }
  }

  private handle(m: Term): void {
    if (m instanceof Tuple && m.length === 5 && m[0] === DOWN && m[1] instanceof Reference && m[2] === PROCESS && m[3] instanceof Pid) {
      this.onDown(m[3], m[1]);
      return;
    }
    const message = parsePgMessage(m);
    if (message === undefined) {
      // pg itself would crash on it; we drop it.
      this.host.logger.debug(`pg scope ${this.name}: ignoring an unexpected message`);
      return;
    }
    if (message.peer.node.name === this.host.router.registry.nodeAtom.name) return; // only other nodes' scopes are peers
    this.onPeerMessage(message);
  }

  private onPeerMessage(m: PgMessage): void {
    const fromPeer = (pids: readonly Pid[]) => pids.filter((p) => p.node === m.peer.node);
    switch (m.type) {
      case 'discover':
        if (!this.host.connected(m.peer.node.name)) return;
        this.sendSync(m.peer);
        if (!this.table.hasPeer(m.peer)) {
          this.table.addPeer(m.peer, this.process.monitor(m.peer));
          this.host.router.routeNoconnect(this.pid, m.peer, buildDiscover(this.pid));
        }
        return;
      case 'sync':
        if (!this.table.hasPeer(m.peer)) {
          if (!this.host.connected(m.peer.node.name)) return;
          this.table.addPeer(m.peer, this.process.monitor(m.peer));
          this.sendSync(m.peer);
        }
        this.table.syncPeer(m.peer, m.groups.map((g) => ({ group: g.group, pids: fromPeer(g.pids) })));
        return;
      case 'join':
        this.table.joinRemote(m.peer, m.group, fromPeer(m.pids));
        return;
      case 'leave':
        this.table.leaveRemote(m.peer, m.pids, m.groups);
        return;
    }
  }

  /** A monitor fired: a joined local process exited, or a peer scope (or its node) went down. */
  private onDown(pid: Pid, ref: Reference): void {
    if (pid.node !== this.host.router.registry.nodeAtom) {
      this.table.peerDown(pid, ref);
      return;
    }
    const groups = this.table.localDown(pid, ref);
    if (groups !== undefined && groups.length > 0) this.broadcast(buildLeave(this.pid, pid, groups));
  }

  private sendSync(peer: Pid): void {
    this.host.router.routeNoconnect(this.pid, peer, buildSync(this.pid, this.table.localGroups()));
  }

  private broadcast(message: Term): void {
    for (const peer of this.table.peerPids()) this.host.router.routeNoconnect(this.pid, peer, message);
  }

  private notify(event: PgEvent): void {
    const listeners = [...this.scopeListeners, ...(this.groupListeners.get(groupKey(event.group)) ?? [])];
    if (listeners.length > 0) this.pendingEvents.push({ event, listeners });
  }

  /**
   * Runs the listeners of what happened, once the change has gone out to the peers:
   * a listener may join or leave itself, and its leave must not overtake the join
   * that it reacts to (a peer that gets a leave for a group it has not heard of crashes).
   */
  private deliverEvents(): void {
    if (this.delivering) return; // a listener's own join or leave: the loop below runs its events
    this.delivering = true;
    try {
      for (let next = this.pendingEvents.shift(); next !== undefined; next = this.pendingEvents.shift()) {
        for (const listener of next.listeners) {
          try {
            listener(next.event);
          } catch (err) {
            this.host.logger.error(`pg scope ${this.name}: a monitor listener threw: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  /** The pids of `members`, all of which must be of this node (pg's ensure_local). */
  private localPids(members: PgMembers): Pid[] {
    this.assertRunning();
    const list = members instanceof Process || members instanceof Pid ? [members] : [...members];
    return list.map((m) => {
      const pid = m instanceof Process ? m.pid : m;
      if (!(pid instanceof Pid) || !this.host.router.registry.isLocal(pid)) throw new TypeError(`pg: only local processes can join or leave, got ${String(pid)}`);
      return pid;
    });
  }

  private assertRunning(): void {
    if (!this.process.alive) throw new NotRunningError(`pg scope ${this.name} is stopped`);
  }
}

/** The single pid when one process was given (pg sends what join/leave was given). */
function single(members: PgMembers): Pid | undefined {
  if (members instanceof Process) return members.pid;
  return members instanceof Pid ? members : undefined;
}
