/**
 * `{ global: Name }` as a destination of sends and monitors, with the semantics of
 * OTP's `global` module on a BEAM node:
 *
 * - `global:send(Name, Msg)` looks the name up and sends to the pid it finds, and
 *   exits with badarg when nobody holds the name. Here the send resolves to that pid,
 *   or rejects with a NotRegisteredError (ERR_NOT_REGISTERED, `global` true).
 * - A monitor of a global name (what gen:call does for `{global, Name}`) looks the
 *   name up and monitors the pid it finds: DOWN names that pid, and the monitor stays
 *   with it if the name later moves to another process. A name nobody holds gives
 *   `{'DOWN', Ref, process, {global, Name}, noproc}` as soon as the lookup answers,
 *   as a monitor of a dead pid does at once.
 *
 * The lookup (node.globalWhereis) asks the global_name_server of every connected
 * visible node, since we keep no copy of global's name table. So, on first use:
 * a node connected to nobody knows no names (a send fails, a monitor gets noproc),
 * and unlike `{Name, Node}` a global name cannot start a connection, because it
 * does not say which node to connect to. Connect first (or wait for nodeup). No
 * sync of ours is needed after that: a BEAM node answers from its own table, and
 * while its global lock is held (a sync or a registration in progress) it holds the
 * answer back until the lock is released, so it never answers from a half-synced table.
 *
 * A lookup is a round trip, so these sends are asynchronous. Global sends from one
 * process go out in the order they were made (each waits for the ones before it),
 * but not in order with its plain sends made meanwhile: await the send first when
 * that matters.
 */
import { NotRegisteredError } from '../errors.js';
import type { Logger } from '../logger.js';
import { atom, Pid, tuple, type Reference, type Term } from '../term/types.js';
import type { Process } from './process.js';
import type { Inbox } from './registry.js';
import { RefMap, type RefMaker } from './refs.js';

const DOWN = atom('DOWN');
const PROCESS = atom('process');
const GLOBAL = atom('global');
const NOPROC = atom('noproc');

/** The pid `name` is registered to in global, undefined when nobody holds it. */
export type GlobalLookup = (name: string) => Promise<Pid | undefined>;

/** What the resolver needs from the router. */
export interface GlobalNamesHost {
  route(from: Pid, dest: Pid, message: Term): boolean;
  monitor(owner: Process, target: Pid, ref: Reference): Reference;
}

export class GlobalNames {
  /** Per sender, the end of its queue of global sends (settles, never rejects). */
  private readonly lastSend = new Map<Pid, Promise<void>>();
  /** Monitors whose name is still being looked up, by reference. */
  private readonly pending = new RefMap<Process>();

  constructor(
    private readonly host: GlobalNamesHost,
    private readonly refs: RefMaker,
    private readonly lookup: GlobalLookup,
    private readonly logger: Logger,
  ) {}

  /** global:send/2: resolves to the pid the message went to. */
  send(from: Pid, name: string, message: Term): Promise<Pid> {
    // Promise.all attaches to the lookup at once, so its failure is never an
    // unhandled rejection while earlier sends are still waiting.
    const sent = Promise.all([this.lastSend.get(from), this.lookup(name)]).then(([, pid]) => {
      if (pid === undefined) throw new NotRegisteredError(name, { global: true });
      this.host.route(from, pid, message);
      return pid;
    });
    const done = sent.then(
      () => undefined,
      () => undefined,
    );
    this.lastSend.set(from, done);
    // done cannot reject: both outcomes are mapped to undefined above.
    void done.then(() => {
      if (this.lastSend.get(from) === done) this.lastSend.delete(from);
    });
    return sent;
  }

  /** A monitor of whatever process holds `name` now; DOWN with noproc when nobody does. */
  monitor(owner: Process, name: string): Reference {
    const ref = this.refs.make();
    this.pending.set(ref, owner);
    const settle = (pid: Pid | undefined) => {
      if (this.pending.get(ref) !== owner) return; // demonitored meanwhile
      this.pending.delete(ref);
      if (!owner.alive) return;
      if (pid === undefined) owner.deliver(tuple(DOWN, ref, PROCESS, tuple(GLOBAL, atom(name)), NOPROC));
      else this.host.monitor(owner, pid, ref);
    };
    const failed = (err: unknown) => this.logger.error(`monitor of {global, ${name}}: ${err instanceof Error ? err.message : String(err)}`);
    // A lookup that fails (the node stopped meanwhile) leaves nobody to tell.
    void this.lookup(name).then(settle, () => this.pending.delete(ref)).catch(failed);
    return ref;
  }

  /** Drops a monitor still being looked up; false when `ref` is not one (the router handles it). */
  cancel(owner: Inbox, ref: Reference): boolean {
    if (this.pending.get(ref) !== owner) return false;
    this.pending.delete(ref);
    return true;
  }
}
