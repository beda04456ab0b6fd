/**
 * A process mailbox with Erlang's selective receive: `receive(match)` takes the
 * first message that matches and leaves the others in order; a receive that finds
 * nothing waits until a matching message arrives or its timeout passes.
 */
import { NotRunningError, TimeoutError } from '../errors.js';
import type { Pid, Term } from '../term/types.js';

/** Picks messages in a selective receive. Returning `true` takes the message. */
export type Matcher = (message: Term) => boolean;

interface Waiter {
  match: Matcher | undefined;
  resolve: (message: Term) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const ANY: Matcher | undefined = undefined;

export class Mailbox {
  private readonly messages: Term[] = [];
  private head = 0;
  private waiters: Waiter[] = [];
  /**
   * Set by close(): the owner's pid (null when it has none). The error a receive gets
   * is made only when one asks: most processes exit with nobody waiting, and an Error
   * (its stack trace above all) per exit would cost more than the rest of the exit.
   */
  private closedFor: Pid | null | undefined;

  /** Messages waiting. */
  get size(): number {
    return this.messages.length - this.head;
  }

  /** Adds a message; a waiting receive that matches it takes it at once. */
  deliver(message: Term): void {
    if (this.closedFor !== undefined) return;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i];
      let taken: boolean;
      try {
        taken = w.match === undefined || w.match(message);
      } catch (err) {
        // A matcher is user code and runs on the delivering connection's stack: its
        // error ends that receive, not the connection.
        this.waiters.splice(i--, 1);
        if (w.timer !== undefined) clearTimeout(w.timer);
        w.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (taken) {
        this.waiters.splice(i, 1);
        if (w.timer !== undefined) clearTimeout(w.timer);
        w.resolve(message);
        return;
      }
    }
    this.messages.push(message);
  }

  /**
   * The first message that `match` accepts (any message without one). Waits up to
   * `timeoutMs` (forever without one) and rejects with a TimeoutError after it.
   */
  receive(match: Matcher | undefined = ANY, timeoutMs?: number): Promise<Term> {
    if (this.closedFor !== undefined) return Promise.reject(this.closedError());
    let found: ReturnType<Mailbox['take']>;
    try {
      found = this.take(match);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (found.ok) return Promise.resolve(found.message);
    if (timeoutMs === 0) return Promise.reject(new TimeoutError('no matching message', 0));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { match, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new TimeoutError(`no matching message within ${timeoutMs} ms`, timeoutMs));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  /** Ends every pending receive (and refuses later ones) with a NotRunningError naming `owner`, and drops the messages. */
  close(owner?: Pid): void {
    if (this.closedFor !== undefined) return;
    this.closedFor = owner ?? null;
    this.messages.length = 0;
    this.head = 0;
    if (this.waiters.length === 0) return;
    const reason = this.closedError();
    for (const w of this.waiters.splice(0)) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.reject(reason);
    }
  }

  private closedError(): NotRunningError {
    return new NotRunningError(this.closedFor ? `process ${this.closedFor} has exited` : 'process has exited');
  }

  private take(match: Matcher | undefined): { ok: true; message: Term } | { ok: false } {
    if (this.size === 0) return { ok: false };
    if (match === undefined) {
      const message = this.messages[this.head];
      this.messages[this.head++] = undefined as unknown as Term;
      this.compact();
      return { ok: true, message };
    }
    for (let i = this.head; i < this.messages.length; i++) {
      const message = this.messages[i];
      if (match(message)) {
        if (i === this.head) {
          this.messages[this.head++] = undefined as unknown as Term;
          this.compact();
        } else {
          this.messages.splice(i, 1);
        }
        return { ok: true, message };
      }
    }
    return { ok: false };
  }

  // Taking from the front moves `head`; drop the consumed prefix once it dominates.
  private compact(): void {
    if (this.head === this.messages.length) {
      this.messages.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages.splice(0, this.head);
      this.head = 0;
    }
  }
}
