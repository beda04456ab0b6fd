/**
 * Links and monitors, indexed so that an exit or a nodedown touches only its own:
 * by the local process (or call) that owns them, by the process watched, and by the
 * peer node that each crosses to. A process exit costs what that process holds, not
 * what the node holds.
 */
import { Pid, type Atom, type Reference } from '../term/types.js';
import { Process } from './process.js';
import type { Inbox } from './registry.js';
import { RefMap } from './refs.js';

/** A monitor we hold: `owner` watches `target` (a pid, or a name on `node`). */
export interface Monitor {
  owner: Inbox;
  ref: Reference;
  target: Pid | Atom;
  node: string;
}

/** Someone watching one of our processes: a remote pid, or a local monitor. */
export interface Watcher {
  ref: Reference;
  /** The process as the watcher named it: its pid, or its registered name. */
  target: Pid | Atom;
  /** Where the DOWN goes: a remote watcher's pid; for a local one, its monitor. */
  remote: Pid | undefined;
  local: Monitor | undefined;
}

const pidKey = (p: Pid) => `${p.node.name}/${p.id}/${p.serial}/${p.creation}`;

/** Adds `value` to the set under `key` in a map of sets. */
function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

export class Relations {
  /** Each local process's links, by the linked pid. */
  private readonly links = new Map<Process, Map<string, Pid>>();
  /** Local processes with a link to a process on a peer node. */
  private readonly linkedTo = new Map<string, Set<Process>>();
  /** Monitors we hold, by reference. */
  private readonly monitors = new RefMap<Monitor>();
  /**
   * The monitors each process holds, taken when it exits. A call's stand-in (node.ts
   * request()) is not indexed: it removes its one monitor itself, and a Set per call
   * would cost more than the rest of the bookkeeping.
   */
  private readonly monitorsOf = new Map<Inbox, Set<Monitor>>();
  /** Monitors we hold on processes of a peer node. */
  private readonly monitorsOn = new Map<string, Set<Monitor>>();
  /** Who watches each local process, by reference. */
  private readonly watchers = new Map<Process, RefMap<Watcher>>();
  /** Local processes watched from a peer node. */
  private readonly watchedFrom = new Map<string, Set<Process>>();

  constructor(private readonly localNode: string) {}

  // Links

  addLink(p: Process, other: Pid): void {
    let links = this.links.get(p);
    if (links === undefined) this.links.set(p, (links = new Map()));
    links.set(pidKey(other), other);
    if (other.node.name !== this.localNode) addTo(this.linkedTo, other.node.name, p);
  }

  /** Removes a link; true if there was one. */
  removeLink(p: Process, other: Pid): boolean {
    const links = this.links.get(p);
    if (links === undefined || !links.delete(pidKey(other))) return false;
    if (links.size === 0) this.links.delete(p);
    if (other.node.name !== this.localNode && ![...links.values()].some((l) => l.node === other.node)) {
      removeFrom(this.linkedTo, other.node.name, p);
    }
    return true;
  }

  /** Takes away every link of `p` and returns the linked pids. */
  takeLinks(p: Process): Pid[] {
    const links = this.links.get(p);
    if (links === undefined) return [];
    this.links.delete(p);
    const pids = [...links.values()];
    for (const other of pids) if (other.node.name !== this.localNode) removeFrom(this.linkedTo, other.node.name, p);
    return pids;
  }

  /** Takes away every link that crosses to `node`: pairs of our process and its remote peer. */
  takeLinksTo(node: string): Array<[Process, Pid]> {
    const procs = this.linkedTo.get(node);
    if (procs === undefined) return [];
    this.linkedTo.delete(node);
    const out: Array<[Process, Pid]> = [];
    for (const p of procs) {
      const links = this.links.get(p);
      if (links === undefined) continue;
      for (const [key, other] of links) {
        if (other.node.name !== node) continue;
        links.delete(key);
        out.push([p, other]);
      }
      if (links.size === 0) this.links.delete(p);
    }
    return out;
  }

  // Monitors we hold

  addMonitor(m: Monitor): void {
    this.monitors.set(m.ref, m);
    if (m.owner instanceof Process) addTo(this.monitorsOf, m.owner, m);
    if (m.node !== this.localNode) addTo(this.monitorsOn, m.node, m);
  }

  monitor(ref: Reference): Monitor | undefined {
    return this.monitors.get(ref);
  }

  /** Removes and returns the monitor under `ref`. */
  takeMonitor(ref: Reference): Monitor | undefined {
    const m = this.monitors.delete(ref);
    if (m === undefined) return undefined;
    if (m.owner instanceof Process) removeFrom(this.monitorsOf, m.owner, m);
    if (m.node !== this.localNode) removeFrom(this.monitorsOn, m.node, m);
    return m;
  }

  /** Removes and returns every monitor `owner` (a process) holds. */
  takeMonitorsOf(owner: Inbox): Monitor[] {
    const ms = this.monitorsOf.get(owner);
    if (ms === undefined) return [];
    return [...ms].map((m) => this.takeMonitor(m.ref)!);
  }

  /** Removes and returns every monitor on processes of `node`. */
  takeMonitorsOn(node: string): Monitor[] {
    const ms = this.monitorsOn.get(node);
    if (ms === undefined) return [];
    return [...ms].map((m) => this.takeMonitor(m.ref)!);
  }

  // Watchers of our processes

  addWatcher(p: Process, w: Watcher): void {
    let ws = this.watchers.get(p);
    if (ws === undefined) this.watchers.set(p, (ws = new RefMap()));
    ws.set(w.ref, w);
    if (w.remote !== undefined) addTo(this.watchedFrom, w.remote.node.name, p);
  }

  /** `p`'s watcher under `ref`, if it still watches. */
  watcher(p: Process, ref: Reference): Watcher | undefined {
    return this.watchers.get(p)?.get(ref);
  }

  removeWatcher(p: Process, ref: Reference): void {
    const ws = this.watchers.get(p);
    const w = ws?.delete(ref);
    if (ws === undefined || w === undefined) return;
    if (ws.size === 0) this.watchers.delete(p);
    // Out of the index by node too, unless another watcher from that node remains: a
    // process left there would be held until that node goes down (one per erpc call).
    const node = w.remote?.node.name;
    if (node !== undefined && ![...ws.values()].some((other) => other.remote?.node.name === node)) removeFrom(this.watchedFrom, node, p);
  }

  /** Removes and returns every watcher of `p`. */
  takeWatchers(p: Process): Watcher[] {
    const ws = this.watchers.get(p);
    if (ws === undefined) return [];
    this.watchers.delete(p);
    const out = [...ws.values()];
    for (const w of out) if (w.remote !== undefined) removeFrom(this.watchedFrom, w.remote.node.name, p);
    return out;
  }

  /** Forgets every watcher on `node` (it went down: nobody there needs a DOWN). */
  dropWatchersFrom(node: string): void {
    const procs = this.watchedFrom.get(node);
    if (procs === undefined) return;
    this.watchedFrom.delete(node);
    for (const p of procs) {
      const ws = this.watchers.get(p);
      if (ws === undefined) continue;
      for (const w of [...ws.values()]) if (w.remote?.node.name === node) ws.delete(w.ref);
      if (ws.size === 0) this.watchers.delete(p);
    }
  }

  /** Counts, for tests and metrics. */
  get size(): { links: number; monitors: number; watched: number; watchedFromPeers: number } {
    let watchedFromPeers = 0;
    for (const procs of this.watchedFrom.values()) watchedFromPeers += procs.size;
    return { links: this.links.size, monitors: this.monitors.size, watched: this.watchers.size, watchedFromPeers };
  }
}
