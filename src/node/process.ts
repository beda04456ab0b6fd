/**
 * A TypeScript process: a pid, a mailbox with selective receive, and the means to
 * send, link, monitor and exit. The node it lives on routes its signals.
 */
import { NotRunningError } from '../errors.js';
import { atom, type Atom, type Pid, type Reference, type Term } from '../term/types.js';
import type { Binaries } from './binaries.js';
import { Mailbox, type Matcher } from './mailbox.js';
import type { Inbox } from './registry.js';

/** Where a message can go: a pid, a local registered name, or `{ name, node }` like `{Name, Node} ! Msg`. */
export type Destination = Pid | string | { name: string; node: string };

/** A name registered in OTP's `global`, like `{global, Name}` (see global-names.ts for the semantics). */
export interface GlobalName {
  global: string;
}

export function isGlobalName(dest: Destination | GlobalName): dest is GlobalName {
  return typeof dest === 'object' && 'global' in dest;
}

/** What a process needs from its node. */
export interface ProcessHost {
  route(from: Pid, dest: Destination, message: Term): boolean;
  link(from: Process, to: Pid): void;
  unlink(from: Process, to: Pid): void;
  monitor(owner: Inbox, target: Destination): Reference;
  sendGlobal(from: Pid, name: string, message: Term): Promise<Pid>;
  monitorGlobal(owner: Process, name: string): Reference;
  demonitor(owner: Inbox, ref: Reference): void;
  exited(p: Process, reason: Term): void;
}

export const NORMAL: Atom = atom('normal');

// A Process is an Inbox (registry.ts) by its shape; `implements` would name `deliver`,
// which the published types leave out as internal.
export class Process {
  readonly pid: Pid;
  /** The registered name, if any. */
  name: string | undefined;
  /** When true, exit signals from links arrive as `{'EXIT', From, Reason}` messages instead of ending the process. */
  trapExit = false;
  /**
   * How binaries in messages from other nodes arrive in this mailbox: `'buffer'`
   * (Buffers), `'utf8'` or `'utf8-keys'` (strings where valid UTF-8); see
   * `NodeOptions.binaries`. Set when the process is spawned.
   */
  readonly binaries: Binaries;
  private readonly mailbox = new Mailbox();
  private exitReason: Term | undefined;

  // Not tagged internal: stripInternal would drop it from the .d.ts and leave a no-argument constructor.
  /** Processes are made by `node.spawn()`. */
  constructor(
    pid: Pid,
    private readonly host: ProcessHost,
    binaries: Binaries = 'buffer',
  ) {
    this.pid = pid;
    this.binaries = binaries;
  }

  get alive(): boolean {
    return this.exitReason === undefined;
  }

  /**
   * The next message, or with `match` the first one it accepts (Erlang's selective
   * receive: others stay in the mailbox, in order). Rejects with a TimeoutError after
   * `timeoutMs`, and with a NotRunningError once the process has exited.
   */
  receive(match?: Matcher, timeoutMs?: number): Promise<Term>;
  receive(timeoutMs?: number): Promise<Term>;
  receive(a?: Matcher | number, b?: number): Promise<Term> {
    return typeof a === 'number' ? this.mailbox.receive(undefined, a) : this.mailbox.receive(a, b);
  }

  /** Messages waiting in the mailbox. */
  get queued(): number {
    return this.mailbox.size;
  }

  /** Sends `message` to `dest`, like `Dest ! Message`. Returns false when the connection is busy. */
  send(dest: Destination, message: Term): boolean;
  /**
   * Sends to the process registered as `dest.global` in OTP's `global`, like
   * global:send/2: resolves to its pid once sent; rejects with NotRegisteredError when
   * no connected node knows the name. In order with this process's other global sends.
   */
  send(dest: GlobalName, message: Term): Promise<Pid>;
  send(dest: Destination | GlobalName, message: Term): boolean | Promise<Pid> {
    this.assertAlive();
    if (isGlobalName(dest)) return this.host.sendGlobal(this.pid, dest.global, message);
    return this.host.route(this.pid, dest, message);
  }

  /** Links to `pid`: when either exits abnormally, the other gets the exit signal. */
  link(pid: Pid): void {
    this.assertAlive();
    this.host.link(this, pid);
  }

  unlink(pid: Pid): void {
    this.assertAlive();
    this.host.unlink(this, pid);
  }

  /**
   * Monitors a process; a `{'DOWN', Ref, process, Object, Reason}` message arrives when it exits.
   * `{ global: name }` monitors the pid the name resolves to (DOWN names that pid), or
   * gets DOWN with `noproc` and Object `{global, Name}` when no connected node knows it.
   */
  monitor(target: Destination | GlobalName): Reference {
    this.assertAlive();
    if (isGlobalName(target)) return this.host.monitorGlobal(this, target.global);
    return this.host.monitor(this, target);
  }

  demonitor(ref: Reference): void {
    this.host.demonitor(this, ref);
  }

  /** Ends the process with `reason` (default `normal`): links and monitors are told. Idempotent. */
  exit(reason: Term = NORMAL): void {
    if (this.exitReason !== undefined) return;
    this.exitReason = reason;
    this.mailbox.close(this.pid);
    this.host.exited(this, reason);
  }

  /**
   * Handles every message with `handler`, one at a time, until the process exits
   * (the usual receive loop of a server process). Resolves when it has exited. A
   * handler that throws skips that message: a server must not die of one bad input
   * a remote node sent.
   */
  async serve(handler: (message: Term) => void, onError?: (err: unknown) => void): Promise<void> {
    for (;;) {
      let message: Term;
      try {
        message = await this.mailbox.receive();
      } catch {
        return; // exited
      }
      try {
        handler(message);
      } catch (err) {
        onError?.(err);
      }
    }
  }

  /** @internal the node delivers messages here */
  deliver(message: Term): void {
    this.mailbox.deliver(message);
  }

  private assertAlive(): void {
    if (this.exitReason !== undefined) throw new NotRunningError(`process ${this.pid} has exited`);
  }
}
