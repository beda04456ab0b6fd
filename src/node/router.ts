/**
 * Signals between our processes and the rest of the cluster: messages, links,
 * monitors and exits, both the ones our processes make and the control messages
 * peers send. Behaviour follows BEAM: a message to a dead pid or an unknown name is
 * dropped; a link or monitor to a process that does not exist fires at once with
 * `noproc`; a lost (or never made) connection fires them with `noconnection`.
 *
 * The router keeps no tables of its own: processes and names live in the registry,
 * links and monitors in relations, and the way out is the outbox.
 */
import * as dop from '../distribution/control.js';
import type { ControlMessage, SpawnRequestMessage } from '../distribution/control.js';
import { NotRegisteredError } from '../errors.js';
import type { Logger } from '../logger.js';
import { encode } from '../term/encode.js';
import { atom, Atom, Pid, tuple, type Reference, type Term } from '../term/types.js';
import type { Binaries } from './binaries.js';
import type { Outbox } from './outbox.js';
import { NORMAL, Process, type Destination, type ProcessHost } from './process.js';
import type { RefMaker } from './refs.js';
import type { Inbox, Registry } from './registry.js';
import type { Relations, Watcher } from './relations.js';
import { GlobalNames, type GlobalLookup } from './global-names.js';

export const NOPROC = atom('noproc');
export const NOCONNECTION = atom('noconnection');
const KILL = atom('kill');
const KILLED = atom('killed');
const DOWN = atom('DOWN');
const PROCESS = atom('process');
const EXIT = atom('EXIT');

/** How often a refused exit signal to a system process is logged, at most. */
const REFUSED_EXIT_LOG_INTERVAL_MS = 10_000;

/** The node's answer to a SPAWN_REQUEST (erpc and friends); see services/. */
export type SpawnRequestHandler = (peer: string, request: SpawnRequestMessage) => void;

export class Router implements ProcessHost {
  /** Processes the node cannot run without (net_kernel, rex, ...): exit signals from peers do not end them. */
  private readonly system = new Set<Process>();
  private lastRefusedExitLog = 0;
  /** Ids of our UNLINK_ID requests (OTP 26's link protocol pairs each with an ack). */
  private unlinkIds = 1;
  onSpawnRequest: SpawnRequestHandler = () => undefined;
  /**
   * True once anything on this node takes binaries as strings (binaries.ts): until
   * then no incoming message need ask who it is for before it is decoded.
   */
  stringsWanted = false;
  /** Set by the node: looks a name up in OTP's global (node.globalWhereis). Until then no name is known. */
  globalLookup: GlobalLookup = () => Promise.resolve(undefined);
  private readonly globalNames: GlobalNames;

  constructor(
    readonly registry: Registry,
    private readonly relations: Relations,
    private readonly outbox: Outbox,
    private readonly refs: RefMaker,
    private readonly logger: Logger,
  ) {
    this.globalNames = new GlobalNames(this, refs, (name) => this.globalLookup(name), logger);
  }

  private get localNode(): string {
    return this.registry.nodeAtom.name;
  }

  spawn(name?: string, binaries: Binaries = 'buffer'): Process {
    if (name !== undefined && this.registry.whereis(name) !== undefined) throw new Error(`name ${name} is already registered`);
    if (binaries !== 'buffer') this.stringsWanted = true;
    const p = new Process(this.registry.newPid(), this, binaries);
    this.registry.add(p);
    if (name !== undefined) this.registry.register(name, p);
    return p;
  }

  /**
   * A process the node depends on. It traps exits (links and exit/2 become messages
   * its serve loop drops), and `kill` from a peer is refused and logged: on BEAM,
   * kernel's supervisor would restart it; here it simply does not die.
   */
  spawnSystem(name?: string): Process {
    const p = this.spawn(name);
    p.trapExit = true;
    this.system.add(p);
    return p;
  }

  // ProcessHost: what our processes do

  route(from: Pid, dest: Destination, message: Term): boolean {
    if (dest instanceof Pid) {
      if (this.registry.isLocal(dest)) {
        this.registry.local(dest)?.deliver(message);
        return true;
      }
      return this.outbox.send(dest.node.name, dop.sendSender(from, dest), message);
    }
    if (typeof dest === 'string') {
      // `Name ! Msg` with no such name is badarg on BEAM.
      const p = this.registry.whereis(dest);
      if (p === undefined) throw new NotRegisteredError(dest);
      p.deliver(message);
      return true;
    }
    if (dest.node === this.localNode) {
      // `{Name, node()} ! Msg` to no such name is silently dropped on BEAM (checked with OTP 25).
      this.registry.whereis(dest.name)?.deliver(message);
      return true;
    }
    return this.outbox.send(dest.node, dop.regSend(from, atom(dest.name)), message);
  }

  /**
   * `erlang:send(Dest, Msg, [noconnect])`: like route, but a message for a node we are
   * not connected to is dropped instead of starting a connect (pg sends this way).
   */
  routeNoconnect(from: Pid, dest: Pid | { name: string; node: string }, message: Term): void {
    if (dest instanceof Pid) {
      if (this.registry.isLocal(dest)) this.registry.local(dest)?.deliver(message);
      else this.outbox.send(dest.node.name, dop.sendSender(from, dest), message, false);
    } else if (dest.node === this.localNode) {
      this.registry.whereis(dest.name)?.deliver(message);
    } else {
      this.outbox.send(dest.node, dop.regSend(from, atom(dest.name)), message, false);
    }
  }

  link(from: Process, to: Pid): void {
    if (to.equals(from.pid)) return;
    if (this.registry.isLocal(to)) {
      const target = this.registry.local(to);
      if (target === undefined) {
        this.exitSignal(from, to, NOPROC, true);
        return;
      }
      this.relations.addLink(from, to);
      this.relations.addLink(target, from.pid);
      return;
    }
    this.relations.addLink(from, to);
    this.outbox.send(to.node.name, dop.link(from.pid, to));
  }

  unlink(from: Process, to: Pid): void {
    if (!this.relations.removeLink(from, to)) return;
    const target = this.registry.local(to);
    if (target !== undefined) this.relations.removeLink(target, from.pid);
    else if (!this.registry.isLocal(to)) this.outbox.send(to.node.name, dop.unlinkId(this.unlinkIds++, from.pid, to), undefined, false);
  }

  monitor(owner: Inbox, target: Destination, ref: Reference = this.refs.make()): Reference {
    const [node, what] = this.resolveTarget(target);
    if (node === this.localNode) {
      const p = what instanceof Pid ? this.registry.local(what) : this.registry.whereis(what.name);
      if (p === undefined) {
        owner.deliver(tuple(DOWN, ref, PROCESS, monitoredObject(what, node), NOPROC));
        return ref;
      }
      const m = { owner, ref, target: what, node };
      this.relations.addMonitor(m);
      this.relations.addWatcher(p, { ref, target: what, remote: undefined, local: m });
      return ref;
    }
    this.relations.addMonitor({ owner, ref, target: what, node });
    this.outbox.send(node, dop.monitorP(owner.pid, what, ref));
    return ref;
  }

  sendGlobal(from: Pid, name: string, message: Term): Promise<Pid> {
    return this.globalNames.send(from, name, message);
  }

  monitorGlobal(owner: Process, name: string): Reference {
    return this.globalNames.monitor(owner, name);
  }

  demonitor(owner: Inbox, ref: Reference): void {
    if (this.globalNames.cancel(owner, ref)) return;
    const m = this.relations.monitor(ref);
    if (m === undefined || m.owner !== owner) return;
    this.relations.takeMonitor(ref);
    this.forget(m);
  }

  exited(p: Process, reason: Term): void {
    this.registry.remove(p);
    this.system.delete(p);
    for (const m of this.relations.takeMonitorsOf(p)) this.forget(m);
    for (const other of this.relations.takeLinks(p)) {
      const local = this.registry.local(other);
      if (local !== undefined) {
        this.relations.removeLink(local, p.pid);
        this.exitSignal(local, p.pid, reason, true);
      } else if (!this.registry.isLocal(other)) {
        this.outbox.send(other.node.name, dop.payloadExit(p.pid, other), reason, false);
      }
    }
    for (const w of this.relations.takeWatchers(p)) this.fireDown(w, reason);
  }

  /** Every link and monitor that crosses to `peer` fires with noconnection. */
  nodeDown(peer: string): void {
    for (const m of this.relations.takeMonitorsOn(peer)) {
      m.owner.deliver(tuple(DOWN, m.ref, PROCESS, monitoredObject(m.target, peer), NOCONNECTION));
    }
    for (const [p, other] of this.relations.takeLinksTo(peer)) this.exitSignal(p, other, NOCONNECTION, true);
    this.relations.dropWatchersFrom(peer);
  }

  /** Ends every process (node stop). */
  exitAll(reason: Term): void {
    this.system.clear();
    for (const p of this.registry.all()) p.exit(reason);
  }

  /** Sends a reply to a pid or to an alias (a reference), as gen:reply/2 does. */
  sendReply(from: Pid, to: Pid | Reference, message: Term): void {
    if (to instanceof Pid) {
      this.route(from, to, message);
    } else if (to.node === this.registry.nodeAtom) {
      this.registry.aliasOwner(to)?.deliver(message);
    } else {
      this.outbox.send(to.node.name, dop.aliasSend(from, to), message);
    }
  }

  /**
   * sendReply for a reply that user code made (a gen_server handler's): throws an
   * EncodeError, with nothing sent, when it has no Erlang form. It is encoded once: by
   * the send itself for a remote caller (a live connection's send is all or nothing; the
   * outbox copies a held one by encoding it at once), by a check first for a local
   * caller, who takes the term as it is.
   */
  sendCheckedReply(from: Pid, to: Pid | Reference, message: Term): void {
    if (to.node.name === this.localNode) encode(message);
    this.sendReply(from, to, message);
  }

  /**
   * Sends the DOWN of `p`'s remote monitor `ref` now, with `reason`, and forgets that
   * monitor, so that p's exit does not send it again. erpc serving answers a call this
   * way, so that the result is encoded once, by this send. False, with nothing sent,
   * when there is no such monitor any more (its owner demonitored, or its node went down).
   * When `reason` has no Erlang form the EncodeError is thrown, nothing is sent (a
   * send is all or nothing) and the monitor stays.
   */
  fireDownNow(p: Process, ref: Reference, reason: Term): boolean {
    const w = this.relations.watcher(p, ref);
    if (w?.remote === undefined) return false;
    this.outbox.send(w.remote.node.name, dop.payloadMonitorPExit(w.target, w.remote, w.ref), reason, false);
    this.relations.removeWatcher(p, ref);
    return true;
  }

  /** Makes a remote `watcher` monitor `p` under `ref`, as if it had sent MONITOR_P. */
  watch(p: Process, watcher: Pid, ref: Reference): void {
    this.relations.addWatcher(p, { ref, target: p.pid, remote: watcher, local: undefined });
  }

  // What peers send

  onControl(peer: string, c: ControlMessage): void {
    switch (c.op) {
      case 'send':
        this.registry.local(c.to)?.deliver(c.message);
        return;
      case 'reg_send':
        this.registry.whereis(c.name.name)?.deliver(c.message);
        return;
      case 'alias_send':
        if (c.alias.node === this.registry.nodeAtom) this.registry.aliasOwner(c.alias)?.deliver(c.message);
        return;
      case 'spawn_request':
        this.onSpawnRequest(peer, c);
        return;
      case 'monitor_exit': {
        // Only the node the monitored process lives on may say it went down.
        const m = this.relations.monitor(c.ref);
        if (m === undefined || m.node !== peer) return;
        this.relations.takeMonitor(c.ref);
        m.owner.deliver(tuple(DOWN, m.ref, PROCESS, monitoredObject(m.target, m.node), c.reason));
        return;
      }

      case 'spawn_reply': // we make no spawn requests
      case 'group_leader': // our processes have no group leaders
      case 'unlink_ack':
        return;
    }
    // Signals on behalf of a process must come from that process's node: a peer may
    // not link, unlink, exit or monitor in another node's name.
    if (c.from.node.name !== peer) {
      this.logger.debug(`ignoring ${c.op} from ${peer} on behalf of ${c.from.node.name}`);
      return;
    }
    switch (c.op) {
      case 'link':
        return this.onLink(c.from, c.to);
      case 'unlink': {
        const p = this.registry.local(c.to);
        if (p !== undefined) this.relations.removeLink(p, c.from);
        if (c.id !== undefined) this.outbox.send(peer, dop.unlinkIdAck(c.id, c.to, c.from), undefined, false);
        return;
      }
      case 'exit':
        return this.onExit(c.from, c.to, c.reason, true);
      case 'exit2':
        return this.onExit(c.from, c.to, c.reason, false);
      case 'monitor':
        return this.onMonitor(peer, c.from, c.target, c.ref);
      case 'demonitor': {
        const p = c.target instanceof Pid ? this.registry.local(c.target) : this.registry.whereis(c.target.name);
        if (p !== undefined) this.relations.removeWatcher(p, c.ref);
        return;
      }
    }
  }

  private onLink(from: Pid, to: Pid): void {
    const p = this.registry.local(to);
    if (p === undefined) {
      this.outbox.send(from.node.name, dop.payloadExit(to, from), NOPROC, false);
      return;
    }
    this.relations.addLink(p, from);
  }

  private onExit(from: Pid, to: Pid, reason: Term, viaLink: boolean): void {
    const p = this.registry.local(to);
    if (p === undefined) return;
    // A link exit from a pid we are not linked to is stale (we unlinked): ignore it, as BEAM does.
    if (viaLink && !this.relations.removeLink(p, from)) return;
    this.exitSignal(p, from, reason, viaLink);
  }

  private onMonitor(peer: string, watcher: Pid, target: Pid | Atom, ref: Reference): void {
    const p = target instanceof Pid ? this.registry.local(target) : this.registry.whereis(target.name);
    if (p === undefined) {
      this.outbox.send(peer, dop.payloadMonitorPExit(target, watcher, ref), NOPROC, false);
      return;
    }
    this.relations.addWatcher(p, { ref, target, remote: watcher, local: undefined });
  }

  /** BEAM's exit-signal rules: trapped as a message, ignored when normal, else the process dies. */
  private exitSignal(p: Process, from: Pid, reason: Term, viaLink: boolean): void {
    if (!viaLink && reason === KILL) {
      if (this.system.has(p)) {
        this.logRefusedExit(p, from);
        return;
      }
      p.exit(KILLED);
      return;
    }
    if (p.trapExit) {
      p.deliver(tuple(EXIT, from, reason));
      return;
    }
    if (reason === NORMAL) return;
    p.exit(reason);
  }

  private logRefusedExit(p: Process, from: Pid): void {
    const now = Date.now();
    if (now - this.lastRefusedExitLog < REFUSED_EXIT_LOG_INTERVAL_MS) return;
    this.lastRefusedExitLog = now;
    this.logger.warn(`refused to kill system process ${p.name ?? p.pid.toString()} (exit signal from ${from.toString()})`);
  }

  /** A monitor we held is gone: tell its target's side. */
  private forget(m: { ref: Reference; target: Pid | Atom; node: string; owner: Inbox }): void {
    if (m.node !== this.localNode) {
      this.outbox.send(m.node, dop.demonitorP(m.owner.pid, m.target, m.ref), undefined, false);
      return;
    }
    const p = m.target instanceof Pid ? this.registry.local(m.target) : this.registry.whereis(m.target.name);
    if (p !== undefined) this.relations.removeWatcher(p, m.ref);
  }

  private fireDown(w: Watcher, reason: Term): void {
    if (w.local !== undefined) {
      const m = this.relations.takeMonitor(w.ref);
      if (m !== undefined) m.owner.deliver(tuple(DOWN, m.ref, PROCESS, monitoredObject(m.target, m.node), reason));
    } else if (w.remote !== undefined) {
      this.outbox.send(w.remote.node.name, dop.payloadMonitorPExit(w.target, w.remote, w.ref), reason, false);
    }
  }

  private resolveTarget(target: Destination): [string, Pid | Atom] {
    if (target instanceof Pid) return [target.node.name, target];
    if (typeof target === 'string') return [this.localNode, atom(target)];
    return [target.node, atom(target.name)];
  }
}

/** The Object of a DOWN message: the pid, or `{Name, Node}` for a monitor by name. */
function monitoredObject(target: Pid | Atom, node: string): Term {
  return target instanceof Pid ? target : tuple(target, atom(node));
}
