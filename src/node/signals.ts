/**
 * Local processes and the signals between them and the rest of the cluster:
 * message delivery, registered names, links and monitors, and the incoming
 * control messages that carry them. Behaviour follows BEAM: a message to a dead pid
 * or an unknown name is dropped; a link or monitor to a process that does not
 * exist fires at once with `noproc`; a connection loss fires them with `noconnection`.
 */
import * as dop from '../distribution/control.js';
import { DOP } from '../distribution/control.js';
import { atom, Atom, Pid, Reference, Tuple, tuple, type Term } from '../term/types.js';
import { NORMAL, Process, type Destination, type ProcessHost } from './process.js';

export const NOPROC = atom('noproc');
export const NOCONNECTION = atom('noconnection');
const KILL = atom('kill');
const KILLED = atom('killed');
const DOWN = atom('DOWN');
const PROCESS = atom('process');
const EXIT = atom('EXIT');

/** What the signal layer needs from the node: its identity, and a way out to other nodes. */
export interface SignalPort {
  readonly nodeAtom: Atom;
  readonly creation: number;
  sendControl(peer: string, control: Tuple, payload?: Term): boolean;
  makeRef(): Reference;
  /** Connects (if needed) before sending a signal to a node we are not connected to. */
  ensureConnected(peer: string): void;
}

interface Monitor {
  watcher: Process;
  ref: Reference;
  /** What was monitored: a pid, or a name on `node`. */
  target: Pid | Atom;
  node: string;
}

/** Someone watching one of our processes. */
interface Watcher {
  pid: Pid;
  ref: Reference;
}

const refKey = (r: Reference) => `${r.node.name}/${r.creation}/${r.id.join('.')}`;
const pidKey = (p: Pid) => `${p.node.name}/${p.id}/${p.serial}/${p.creation}`;

export class Signals implements ProcessHost {
  private readonly byId = new Map<number, Process>();
  private readonly names = new Map<string, Process>();
  private readonly links = new Map<Process, Map<string, Pid>>();
  private readonly monitors = new Map<string, Monitor>();
  private readonly watchers = new Map<Process, Map<string, Watcher>>();
  /** Alias references (OTP 24+) and the process each one reaches. */
  private readonly aliases = new Map<string, Process>();
  private nextId = 1;
  /** Ids of our UNLINK_ID requests (OTP 26's link protocol pairs each with an ack). */
  private nextUnlinkId = 1;

  constructor(private readonly port: SignalPort) {}

  spawn(name?: string): Process {
    if (name !== undefined && this.names.has(name)) throw new Error(`name ${name} is already registered`);
    const id = this.nextId++;
    const p = new Process(new Pid(this.port.nodeAtom, id, 0, this.port.creation), this);
    this.byId.set(id, p);
    if (name !== undefined) this.register(name, p);
    return p;
  }

  register(name: string, p: Process): boolean {
    if (this.names.has(name) || p.name !== undefined || !p.alive) return false;
    this.names.set(name, p);
    p.name = name;
    return true;
  }

  unregister(name: string): boolean {
    const p = this.names.get(name);
    if (p === undefined) return false;
    this.names.delete(name);
    p.name = undefined;
    return true;
  }

  whereis(name: string): Process | undefined {
    return this.names.get(name);
  }

  registered(): string[] {
    return [...this.names.keys()];
  }

  /** The local process a pid names, if it is alive. */
  local(pid: Pid): Process | undefined {
    if (pid.node !== this.port.nodeAtom || pid.creation !== this.port.creation) return undefined;
    return this.byId.get(pid.id);
  }

  isLocal(pid: Pid): boolean {
    return pid.node === this.port.nodeAtom;
  }

  // ProcessHost

  route(from: Pid, dest: Destination, message: Term): boolean {
    if (dest instanceof Pid) {
      if (this.isLocal(dest)) {
        this.local(dest)?.deliver(message);
        return true;
      }
      this.port.ensureConnected(dest.node.name);
      return this.port.sendControl(dest.node.name, dop.sendSender(from, dest), message);
    }
    if (typeof dest === 'string') {
      this.names.get(dest)?.deliver(message);
      return true;
    }
    if (dest.node === this.port.nodeAtom.name) return this.route(from, dest.name, message);
    this.port.ensureConnected(dest.node);
    return this.port.sendControl(dest.node, dop.regSend(from, atom(dest.name)), message);
  }

  link(from: Process, to: Pid): void {
    if (to.equals(from.pid)) return;
    const target = this.isLocal(to) ? this.local(to) : undefined;
    if (this.isLocal(to) && target === undefined) {
      this.exitSignal(from, to, NOPROC, true);
      return;
    }
    this.linksOf(from).set(pidKey(to), to);
    if (target !== undefined) this.linksOf(target).set(pidKey(from.pid), from.pid);
    else this.port.sendControl(to.node.name, dop.link(from.pid, to));
  }

  unlink(from: Process, to: Pid): void {
    this.links.get(from)?.delete(pidKey(to));
    const target = this.isLocal(to) ? this.local(to) : undefined;
    if (target !== undefined) this.links.get(target)?.delete(pidKey(from.pid));
    else if (!this.isLocal(to)) this.port.sendControl(to.node.name, dop.unlinkId(this.nextUnlinkId++, from.pid, to));
  }

  monitor(from: Process, target: Destination): Reference {
    const ref = this.port.makeRef();
    const [node, what] = this.resolveTarget(target);
    if (node === this.port.nodeAtom.name) {
      const p = what instanceof Pid ? this.local(what) : this.names.get(what.name);
      if (p === undefined) from.deliver(tuple(DOWN, ref, PROCESS, monitoredObject(what, node), NOPROC));
      else this.watchersOf(p).set(refKey(ref), { pid: from.pid, ref });
      this.monitors.set(refKey(ref), { watcher: from, ref, target: what, node });
      return ref;
    }
    this.monitors.set(refKey(ref), { watcher: from, ref, target: what, node });
    this.port.ensureConnected(node);
    this.port.sendControl(node, dop.monitorP(from.pid, what, ref));
    return ref;
  }

  demonitor(from: Process, ref: Reference): void {
    const m = this.monitors.get(refKey(ref));
    if (m === undefined || m.watcher !== from) return;
    this.monitors.delete(refKey(ref));
    if (m.node === this.port.nodeAtom.name) {
      const p = m.target instanceof Pid ? this.local(m.target) : this.names.get(m.target.name);
      if (p !== undefined) this.watchers.get(p)?.delete(refKey(ref));
    } else {
      this.port.sendControl(m.node, dop.demonitorP(from.pid, m.target, ref));
    }
  }

  exited(p: Process, reason: Term): void {
    this.byId.delete(p.pid.id);
    if (p.name !== undefined) this.names.delete(p.name);
    // Our own monitors and aliases end with us.
    for (const [key, m] of this.monitors) {
      if (m.watcher !== p) continue;
      this.monitors.delete(key);
      if (m.node !== this.port.nodeAtom.name) this.port.sendControl(m.node, dop.demonitorP(p.pid, m.target, m.ref));
    }
    for (const [key, owner] of this.aliases) if (owner === p) this.aliases.delete(key);
    const links = this.links.get(p);
    this.links.delete(p);
    for (const other of links?.values() ?? []) {
      const local = this.local(other);
      if (local !== undefined) {
        this.links.get(local)?.delete(pidKey(p.pid));
        this.exitSignal(local, p.pid, reason, true);
      } else if (!this.isLocal(other)) {
        this.port.sendControl(other.node.name, dop.payloadExit(p.pid, other), reason);
      }
    }
    const watchers = this.watchers.get(p);
    this.watchers.delete(p);
    for (const w of watchers?.values() ?? []) this.fireDown(p.pid, w, reason);
  }

  /** Every link and monitor that crosses to `peer` fires with noconnection. */
  nodeDown(peer: string): void {
    for (const [key, m] of this.monitors) {
      if (m.node !== peer) continue;
      this.monitors.delete(key);
      m.watcher.deliver(tuple(DOWN, m.ref, PROCESS, monitoredObject(m.target, peer), NOCONNECTION));
    }
    for (const [p, links] of [...this.links]) {
      for (const [key, other] of links) {
        if (other.node.name !== peer) continue;
        links.delete(key);
        this.exitSignal(p, other, NOCONNECTION, true);
      }
    }
    for (const watchers of this.watchers.values()) {
      for (const [key, w] of watchers) if (w.pid.node.name === peer) watchers.delete(key);
    }
  }

  /** Ends every process (node stop). */
  exitAll(reason: Term): void {
    for (const p of [...this.byId.values()]) p.exit(reason);
  }

  /** Handles a control message from `peer`. Unknown or unsupported operations return false. */
  onControl(peer: string, control: Tuple, payload: Term | undefined): boolean {
    switch (control[0]) {
      case DOP.SEND:
      case DOP.SEND_TT:
        this.deliverTo(control[2], payload);
        return true;
      case DOP.SEND_SENDER:
      case DOP.SEND_SENDER_TT:
        this.deliverTo(control[2], payload);
        return true;
      case DOP.REG_SEND:
      case DOP.REG_SEND_TT:
        if (control[3] instanceof Atom) this.names.get(control[3].name)?.deliver(payload as Term);
        return true;
      case DOP.ALIAS_SEND:
      case DOP.ALIAS_SEND_TT:
        this.deliverToAlias(control[2], payload);
        return true;
      case DOP.LINK:
        this.onLink(control[1], control[2]);
        return true;
      case DOP.UNLINK_ID:
        this.onUnlink(peer, control[1], control[2], control[3]);
        return true;
      case DOP.UNLINK_ID_ACK:
      case DOP.UNLINK:
        return true;
      case DOP.EXIT:
      case DOP.EXIT_TT:
        this.onExit(control[1], control[2], control[control[0] === DOP.EXIT ? 3 : 4], true);
        return true;
      case DOP.PAYLOAD_EXIT:
      case DOP.PAYLOAD_EXIT_TT:
        this.onExit(control[1], control[2], payload, true);
        return true;
      case DOP.EXIT2:
      case DOP.EXIT2_TT:
        this.onExit(control[1], control[2], control[control[0] === DOP.EXIT2 ? 3 : 4], false);
        return true;
      case DOP.PAYLOAD_EXIT2:
      case DOP.PAYLOAD_EXIT2_TT:
        this.onExit(control[1], control[2], payload, false);
        return true;
      case DOP.MONITOR_P:
        this.onMonitor(peer, control[1], control[2], control[3]);
        return true;
      case DOP.DEMONITOR_P:
        this.onDemonitor(control[2], control[3]);
        return true;
      case DOP.MONITOR_P_EXIT:
        this.onMonitorExit(control[3], control[4]);
        return true;
      case DOP.PAYLOAD_MONITOR_P_EXIT:
        this.onMonitorExit(control[3], payload);
        return true;
      case DOP.GROUP_LEADER:
        return true;
      default:
        return false;
    }
  }

  /** Delivers `{Tag, Reply}`-style messages to a pid (aliases are handled by the caller's ref). */
  private deliverTo(to: Term, message: Term | undefined): void {
    if (to instanceof Pid && message !== undefined) this.local(to)?.deliver(message);
  }

  /** Makes `ref` an alias of `p`: messages sent to it (ALIAS_SEND) reach p until `removeAlias`. */
  addAlias(ref: Reference, p: Process): void {
    this.aliases.set(refKey(ref), p);
  }

  removeAlias(ref: Reference): void {
    this.aliases.delete(refKey(ref));
  }

  /** Makes `watcher` (usually remote) monitor `p` under `ref`, as if it had sent MONITOR_P. */
  watch(p: Process, watcher: Pid, ref: Reference): void {
    this.watchersOf(p).set(refKey(ref), { pid: watcher, ref });
  }

  /** Sends a reply to a pid or to an alias (a reference), as gen:reply/2 does. */
  sendReply(from: Process, to: Pid | Reference, message: Term): void {
    if (to instanceof Pid) {
      this.route(from.pid, to, message);
    } else if (to.node === this.port.nodeAtom) {
      this.deliverToAlias(to, message);
    } else {
      this.port.sendControl(to.node.name, dop.aliasSend(from.pid, to), message);
    }
  }

  private deliverToAlias(alias: Term, message: Term | undefined): void {
    if (!(alias instanceof Reference) || message === undefined) return;
    const p = this.aliases.get(refKey(alias));
    if (p !== undefined && p.alive) p.deliver(message);
  }

  private onLink(from: Term, to: Term): void {
    if (!(from instanceof Pid) || !(to instanceof Pid)) return;
    const p = this.local(to);
    if (p === undefined) {
      this.port.sendControl(from.node.name, dop.payloadExit(to, from), NOPROC);
      return;
    }
    this.linksOf(p).set(pidKey(from), from);
  }

  private onUnlink(peer: string, id: Term, from: Term, to: Term): void {
    if (!(from instanceof Pid) || !(to instanceof Pid)) return;
    const p = this.local(to);
    if (p !== undefined) this.links.get(p)?.delete(pidKey(from));
    this.port.sendControl(peer, dop.unlinkIdAck(id, to, from));
  }

  private onExit(from: Term, to: Term, reason: Term | undefined, viaLink: boolean): void {
    if (!(from instanceof Pid) || !(to instanceof Pid) || reason === undefined) return;
    const p = this.local(to);
    if (p === undefined) return;
    if (viaLink) {
      // A link exit from a pid we are not linked to is stale (we unlinked): ignore it, as BEAM does.
      const links = this.links.get(p);
      if (links === undefined || !links.delete(pidKey(from))) return;
    }
    this.exitSignal(p, from, reason, viaLink);
  }

  /** BEAM's exit-signal rules: trapped as a message, ignored when normal, else the process dies. */
  private exitSignal(p: Process, from: Pid, reason: Term, viaLink: boolean): void {
    if (!viaLink && reason === KILL) {
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

  private onMonitor(peer: string, watcher: Term, target: Term, ref: Term): void {
    if (!(watcher instanceof Pid) || !(ref instanceof Reference)) return;
    const p = target instanceof Pid ? this.local(target) : target instanceof Atom ? this.names.get(target.name) : undefined;
    if (p === undefined) {
      this.port.sendControl(peer, dop.payloadMonitorPExit(target as Pid | Atom, watcher, ref), NOPROC);
      return;
    }
    this.watchersOf(p).set(refKey(ref), { pid: watcher, ref });
  }

  private onDemonitor(target: Term, ref: Term): void {
    if (!(ref instanceof Reference)) return;
    const p = target instanceof Pid ? this.local(target) : target instanceof Atom ? this.names.get(target.name) : undefined;
    if (p !== undefined) this.watchers.get(p)?.delete(refKey(ref));
  }

  private onMonitorExit(ref: Term, reason: Term | undefined): void {
    if (!(ref instanceof Reference) || reason === undefined) return;
    const m = this.monitors.get(refKey(ref));
    if (m === undefined) return;
    this.monitors.delete(refKey(ref));
    m.watcher.deliver(tuple(DOWN, m.ref, PROCESS, monitoredObject(m.target, m.node), reason));
  }

  private fireDown(from: Pid, w: Watcher, reason: Term): void {
    const local = this.local(w.pid);
    if (local !== undefined) {
      const m = this.monitors.get(refKey(w.ref));
      this.monitors.delete(refKey(w.ref));
      local.deliver(tuple(DOWN, w.ref, PROCESS, m === undefined ? from : monitoredObject(m.target, m.node), reason));
    } else if (!this.isLocal(w.pid)) {
      this.port.sendControl(w.pid.node.name, dop.payloadMonitorPExit(from, w.pid, w.ref), reason);
    }
  }

  private resolveTarget(target: Destination): [string, Pid | Atom] {
    if (target instanceof Pid) return [target.node.name, target];
    if (typeof target === 'string') return [this.port.nodeAtom.name, atom(target)];
    return [target.node, atom(target.name)];
  }

  private linksOf(p: Process): Map<string, Pid> {
    let m = this.links.get(p);
    if (m === undefined) this.links.set(p, (m = new Map()));
    return m;
  }

  private watchersOf(p: Process): Map<string, Watcher> {
    let m = this.watchers.get(p);
    if (m === undefined) this.watchers.set(p, (m = new Map()));
    return m;
  }
}

/** The Object of a DOWN message: the pid, or `{Name, Node}` for a monitor by name. */
function monitoredObject(target: Pid | Atom, node: string): Term {
  return target instanceof Pid ? target : tuple(target, atom(node));
}
