/**
 * The node's table of live processes, their registered names, and aliases.
 *
 * Pids are made as BEAM makes them: an id and a serial (NEW_PID_EXT carries both, 32
 * bits each). The id counts up; when it wraps, the serial moves on, so a pid is not
 * reused for 2^64 spawns, and an id still held by a live process (the system
 * processes spawned first, say) is skipped rather than handed out twice.
 */
import { Pid, type Atom, type Reference, type Term } from '../term/types.js';
import type { Binaries } from './binaries.js';
import type { Process } from './process.js';
import { RefMap } from './refs.js';

/** Something that can receive messages: a process, or a waiter that stands in for one (a call). */
export interface Inbox {
  readonly pid: Pid;
  /** How binaries in messages from other nodes arrive here (binaries.ts); undefined: Buffers. */
  readonly binaries?: Binaries | undefined;
  deliver(message: Term): void;
}

const ID_LIMIT = 0x100000000; // 2^32

export class Registry {
  private readonly byId = new Map<number, Process>();
  private readonly names = new Map<string, Process>();
  private readonly aliases = new RefMap<Inbox>();
  /** The aliases of each live process, removed when it exits (a call's stand-in removes its own). */
  private readonly aliasesOf = new Map<Inbox, RefMap<Reference>>();
  private nextId: number;
  private serial = 0;

  constructor(
    readonly nodeAtom: Atom,
    readonly creation: number,
    firstId = 1,
  ) {
    this.nextId = firstId;
  }

  /** A pid no live process holds. */
  newPid(): Pid {
    // Bounded: at most one pass over the ids held by live processes.
    for (;;) {
      const id = this.nextId;
      const serial = this.serial;
      if (++this.nextId === ID_LIMIT) {
        this.nextId = 0;
        this.serial = (this.serial + 1) % ID_LIMIT;
      }
      if (!this.byId.has(id)) return new Pid(this.nodeAtom, id, serial, this.creation);
    }
  }

  add(p: Process): void {
    this.byId.set(p.pid.id, p);
  }

  /** Forgets a process that exited: its pid, its name, its aliases. */
  remove(p: Process): void {
    if (this.byId.get(p.pid.id) === p) this.byId.delete(p.pid.id);
    if (p.name !== undefined && this.names.get(p.name) === p) this.names.delete(p.name);
    this.removeAliasesOf(p);
  }

  /** The live local process a pid names. */
  local(pid: Pid): Process | undefined {
    if (pid.node !== this.nodeAtom || pid.creation !== this.creation) return undefined;
    const p = this.byId.get(pid.id);
    return p !== undefined && p.pid.serial === pid.serial ? p : undefined;
  }

  isLocal(pid: Pid): boolean {
    return pid.node === this.nodeAtom;
  }

  /** Every live process. */
  all(): Process[] {
    return [...this.byId.values()];
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

  /** Makes `ref` an alias of `owner` (OTP 24+): messages sent to it reach the owner until removed. */
  addAlias(ref: Reference, owner: Inbox): void {
    this.aliases.set(ref, owner);
    if (this.byId.get(owner.pid.id) !== owner) return;
    let refs = this.aliasesOf.get(owner);
    if (refs === undefined) this.aliasesOf.set(owner, (refs = new RefMap()));
    refs.set(ref, ref);
  }

  removeAlias(ref: Reference): void {
    const owner = this.aliases.delete(ref);
    if (owner === undefined) return;
    const refs = this.aliasesOf.get(owner);
    if (refs === undefined) return;
    refs.delete(ref);
    if (refs.size === 0) this.aliasesOf.delete(owner);
  }

  aliasOwner(ref: Reference): Inbox | undefined {
    return this.aliases.get(ref);
  }

  private removeAliasesOf(owner: Inbox): void {
    const refs = this.aliasesOf.get(owner);
    if (refs === undefined) return;
    this.aliasesOf.delete(owner);
    for (const ref of refs.values()) this.aliases.delete(ref);
  }
}
