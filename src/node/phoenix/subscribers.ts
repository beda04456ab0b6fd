/**
 * The subscribers of one PubSub on this node, by topic, and how a broadcast reaches
 * them: what `Phoenix.PubSub.dispatch/3` does with its Registry entries. A subscriber is
 * a handler called for each message, or a queue read as an async iterator. A handler
 * that throws (or whose promise rejects) is logged; the others still get the message.
 */
import type { Logger } from '../../logger.js';
import type { Atom, Term } from '../../term/types.js';

/** Called for each message broadcast on the topic; runs inside the node, so it should return quickly. */
export type PubSubHandler = (message: Term, topic: string, dispatcher: Atom) => void | Promise<void>;

/** One message as the async-iterator form of a subscription yields it. */
export interface PubSubMessage {
  topic: string;
  message: Term;
  /** The dispatcher it was broadcast with: `'Elixir.Phoenix.PubSub'`, or `'Elixir.Phoenix.Channel.Server'` for channel events. */
  dispatcher: Atom;
}

/**
 * A subscription to one topic, from `pubsub.subscribe(topic, handler)` or, without a
 * handler, an async iterator of the messages (`for await (const m of sub)`): those wait
 * in an unbounded queue until read, as they would in a process mailbox.
 */
export class Subscription implements AsyncIterable<PubSubMessage> {
  private readonly queue: PubSubMessage[] = [];
  private readonly readers: Array<(r: IteratorResult<PubSubMessage>) => void> = [];
  private subscribed = true;

  // Not tagged internal: stripInternal would leave a no-argument constructor in the .d.ts.
  /** Subscriptions are made by `pubsub.subscribe()`. */
  constructor(
    readonly topic: string,
    private readonly handler: PubSubHandler | undefined,
    private readonly table: Subscribers,
  ) {}

  /** Whether messages still arrive. */
  get active(): boolean {
    return this.subscribed;
  }

  /** Stops the messages; an iterator ends once it has read what was queued. False when already unsubscribed. */
  unsubscribe(): boolean {
    if (!this.subscribed) return false;
    this.subscribed = false;
    this.table.remove(this);
    for (const read of this.readers.splice(0)) read({ done: true, value: undefined });
    return true;
  }

  [Symbol.asyncIterator](): AsyncIterator<PubSubMessage> {
    if (this.handler !== undefined) throw new TypeError('PubSub: a subscription with a handler is not iterable; subscribe(topic) without one');
    return {
      next: () => {
        const value = this.queue.shift();
        if (value !== undefined) return Promise.resolve({ done: false, value });
        if (!this.subscribed) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.readers.push(resolve));
      },
      // `break` out of a for-await loop ends the subscription.
      return: () => {
        this.unsubscribe();
        this.queue.length = 0;
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** @internal One message for this subscriber; a handler's error is the caller's to log. */
  deliver(message: PubSubMessage): void | Promise<void> {
    if (this.handler !== undefined) return this.handler(message.message, message.topic, message.dispatcher);
    const read = this.readers.shift();
    if (read !== undefined) read({ done: false, value: message });
    else this.queue.push(message);
  }
}

/** The subscriptions of one PubSub on this node, by topic. */
export class Subscribers {
  private readonly byTopic = new Map<string, Set<Subscription>>();

  constructor(
    private readonly logger: Logger,
    private readonly label: string,
  ) {}

  add(topic: string, handler: PubSubHandler | undefined): Subscription {
    if (typeof topic !== 'string') throw new TypeError('PubSub: a topic is a string');
    const sub = new Subscription(topic, handler, this);
    let set = this.byTopic.get(topic);
    if (set === undefined) this.byTopic.set(topic, (set = new Set()));
    set.add(sub);
    return sub;
  }

  remove(sub: Subscription): void {
    const set = this.byTopic.get(sub.topic);
    if (set?.delete(sub) === true && set.size === 0) this.byTopic.delete(sub.topic);
  }

  /** How many subscriptions `topic` has. */
  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  /**
   * Delivers to every subscription of `topic` except `from` (broadcastFrom's sender), as
   * Phoenix.PubSub.dispatch/3 does; the dispatcher is passed along, since TS subscribers
   * have no channel sockets to fastlane to. Subscriptions made by a handler during the
   * delivery get the next message, not this one.
   */
  dispatch(topic: string, message: Term, dispatcher: Atom, from?: Subscription): void {
    const set = this.byTopic.get(topic);
    if (set === undefined) return;
    const item: PubSubMessage = { topic, message, dispatcher };
    for (const sub of [...set]) {
      if (sub === from || !sub.active) continue;
      try {
        const done = sub.deliver(item);
        if (done instanceof Promise) done.catch((err: unknown) => this.handlerFailed(topic, err));
      } catch (err) {
        this.handlerFailed(topic, err);
      }
    }
  }

  /** Ends every subscription (the PubSub stopped). */
  clear(): void {
    for (const set of [...this.byTopic.values()]) for (const sub of [...set]) sub.unsubscribe();
  }

  private handlerFailed(topic: string, err: unknown): void {
    this.logger.error(`${this.label}: a subscriber of '${topic}' threw: ${err instanceof Error ? err.message : String(err)}`);
  }
}
