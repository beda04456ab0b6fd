/**
 * Phoenix.PubSub on a TS node: a member of an Elixir cluster's pubsub (phoenix_pubsub 2.x
 * with its default `Phoenix.PubSub.PG2` adapter; shapes read from 2.2.0, see messages.ts).
 *
 * Like the adapter, it runs one worker per pool group, registered under the group's name
 * and joined to that group in the pg scope `'Elixir.Phoenix.PubSub'`; a worker dispatches
 * each `{forward_to_local, ...}` it receives to this node's subscribers.
 *
 * Pool sizes may differ across the cluster (Phoenix's own advice for changing one is a
 * `broadcast_pool_size` below `pool_size`), and a node receives only on the groups it
 * has joined. So that nothing is missed and nothing arrives twice:
 * - we listen on every pool group any node of the scope has joined (learned from pg),
 *   as well as the `poolSize` configured; each broadcast of a BEAM node goes to the
 *   members of one group, so it reaches us once;
 * - we broadcast on the first group, `<Adapter>`, which every node has (an Elixir node
 *   with `broadcast_pool_size: 1` does the same), from one sender process, so each node
 *   gets each message once and a sender's messages in order.
 */
import { toLogger, consoleLogger, type LoggerOption, type Logger } from '../../logger.js';
import { NotRunningError } from '../../errors.js';
import { Atom, atom, type Term } from '../../term/types.js';
import type { Node } from '../node.js';
import type { PgScope, PgScopeMonitor } from '../pg/scope.js';
import type { Process } from '../process.js';
import {
  adapterName,
  buildForwardToLocal,
  DEFAULT_DISPATCHER,
  MAX_POOL_SIZE,
  parseForwardToLocal,
  poolGroupIndex,
  poolGroupName,
  PUBSUB_SCOPE,
} from './messages.js';
import { Subscribers, type PubSubHandler, type Subscription } from './subscribers.js';

export interface PubSubOptions {
  /** The pubsub's name as Elixir code writes it: `'MyApp.PubSub'` (`{Phoenix.PubSub, name: MyApp.PubSub}`). */
  name: string;
  /** Pool groups to listen on from the start; default 1. Groups other nodes use are added as pg reports them. */
  poolSize?: number;
  /** Where subscriber errors go; default the console, prefixed with the pubsub's name. */
  logger?: LoggerOption;
}

/**
 * A Phoenix.PubSub instance on a TS node: subscribers here receive what Elixir code
 * broadcasts with `Phoenix.PubSub.broadcast/3` (and channel events from
 * `Endpoint.broadcast/3`), and what is broadcast here reaches Elixir subscribers.
 */
export class PubSub {
  /** The pubsub's name, e.g. `MyApp.PubSub`. */
  readonly name: string;
  private readonly adapter: string;
  private readonly scope: PgScope;
  private readonly subscribers: Subscribers;
  private readonly logger: Logger;
  /** The worker of each pool group we listen on, by 1-based index. */
  private readonly workers = new Map<number, Process>();
  private readonly scopeMonitor: PgScopeMonitor;
  private stopped = false;

  private constructor(
    private readonly node: Node,
    options: PubSubOptions,
  ) {
    const poolSize = options.poolSize ?? 1;
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > MAX_POOL_SIZE) throw new RangeError(`PubSub: poolSize must be an integer from 1 to ${MAX_POOL_SIZE}, got ${poolSize}`);
    this.name = options.name;
    this.adapter = adapterName(options.name);
    this.logger = options.logger === undefined ? consoleLogger(`[nessie pubsub ${options.name}]`) : toLogger(options.logger);
    this.subscribers = new Subscribers(this.logger, `PubSub ${options.name}`);
    if (node.whereis(this.adapter) !== undefined) throw new Error(`PubSub ${options.name} already runs on this node`);
    this.scope = node.pg(PUBSUB_SCOPE);
    for (let i = 1; i <= poolSize; i++) this.listen(i);
    // Groups of other nodes, now and from now on. A listener runs inside the scope; joining
    // from it is allowed (the scope sends our join after the event's own changes).
    this.scopeMonitor = this.scope.monitorScope((event) => {
      if (event.type === 'join') this.learnGroup(event.group);
    });
    for (const g of this.scopeMonitor.groups) this.learnGroup(g.group);
  }

  /**
   * Starts the pubsub `options.name` on `node`: its workers join the pool groups in the
   * scope `'Elixir.Phoenix.PubSub'` (started on first use), where connected Elixir nodes
   * running the same pubsub find them.
   * @throws Error when this node already runs a pubsub of that name; RangeError for a bad poolSize; NotRunningError once the node stopped.
   */
  static async start(node: Node, options: PubSubOptions): Promise<PubSub> {
    return new PubSub(node, options);
  }

  /** The names of the pool groups this node listens on, in order. */
  groups(): string[] {
    return [...this.workers.keys()].sort((a, b) => a - b).map((i) => poolGroupName(this.adapter, i));
  }

  /**
   * The other nodes whose pubsub of this name we see (their first worker is in our pg
   * view): the nodes a broadcast reaches now, besides this one.
   */
  nodes(): string[] {
    const names = new Set<string>();
    for (const pid of this.scope.getMembers(atom(this.adapter))) if (pid.node.name !== this.node.name) names.add(pid.node.name);
    return [...names].sort();
  }

  /**
   * Subscribes to `topic`: `handler(message, topic, dispatcher)` is called for each
   * message broadcast on it anywhere in the cluster. Without a handler, the subscription
   * is an async iterator of `{ topic, message, dispatcher }`. `unsubscribe()` ends it.
   */
  subscribe(topic: string, handler?: PubSubHandler): Subscription {
    this.assertRunning();
    return this.subscribers.add(topic, handler);
  }

  /**
   * Broadcasts `message` on `topic` to every subscriber in the cluster, here included,
   * like Phoenix.PubSub.broadcast/4. Resolves once the message is handed to each
   * connection (waiting for busy ones to drain), which keeps a loop of broadcasts from
   * queueing without bound.
   * @param dispatcher the Elixir module that dispatches it on each node (default Phoenix.PubSub).
   * @throws EncodeError for a message with no Erlang form (nothing is sent); NotRunningError once stopped.
   */
  broadcast(topic: string, message: Term, dispatcher: Atom = DEFAULT_DISPATCHER): Promise<void> {
    return this.broadcastExcept(undefined, topic, message, dispatcher);
  }

  /**
   * Like `broadcast`, but the subscription `from` does not get it, like
   * Phoenix.PubSub.broadcast_from/5 (which leaves out the sending process; other nodes
   * have no such subscriber and get it as from `broadcast`).
   */
  broadcastFrom(from: Subscription, topic: string, message: Term, dispatcher: Atom = DEFAULT_DISPATCHER): Promise<void> {
    return this.broadcastExcept(from, topic, message, dispatcher);
  }

  /** Delivers `message` to this node's subscribers of `topic` only, like Phoenix.PubSub.local_broadcast/4. */
  localBroadcast(topic: string, message: Term, dispatcher: Atom = DEFAULT_DISPATCHER): void {
    this.assertRunning();
    this.subscribers.dispatch(topic, message, dispatcher);
  }

  /**
   * Delivers `message` to the subscribers of `topic` on the node `nodeName` only, like
   * Phoenix.PubSub.direct_broadcast/5: sent to the pubsub's worker registered there
   * (connecting first if needed). For this node's name it is `localBroadcast`.
   */
  async directBroadcast(nodeName: string, topic: string, message: Term, dispatcher: Atom = DEFAULT_DISPATCHER): Promise<void> {
    this.assertRunning();
    if (nodeName === this.node.name) return this.localBroadcast(topic, message, dispatcher);
    if (!this.sender().send({ name: this.adapter, node: nodeName }, buildForwardToLocal(topic, message, dispatcher))) await this.node.drain(nodeName);
  }

  /**
   * Stops the workers (they leave their groups on every node) and ends every
   * subscription. Idempotent; stopping the node stops its pubsubs too.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.scopeMonitor.demonitor();
    for (const w of this.workers.values()) if (w.alive) w.exit(atom('shutdown'));
    this.workers.clear();
    this.subscribers.clear();
  }

  private async broadcastExcept(from: Subscription | undefined, topic: string, message: Term, dispatcher: Atom): Promise<void> {
    this.assertRunning();
    if (typeof topic !== 'string') throw new TypeError('PubSub: a topic is a string');
    const forward = buildForwardToLocal(topic, message, dispatcher);
    const sender = this.sender();
    const busy = new Set<string>();
    // Every member of the first group on another node: one worker per node.
    for (const pid of this.scope.getMembers(atom(this.adapter))) {
      if (pid.node.name === this.node.name) continue;
      if (!sender.send(pid, forward)) busy.add(pid.node.name);
    }
    this.subscribers.dispatch(topic, message, dispatcher, from);
    if (busy.size > 0) await Promise.all([...busy].map((n) => this.node.drain(n)));
  }

  /** Broadcasts go out from the first worker, so each node sees one sender and keeps its order. */
  private sender(): Process {
    const w = this.workers.get(1);
    if (w === undefined || !w.alive) throw new NotRunningError(`PubSub ${this.name} is stopped`);
    return w;
  }

  private learnGroup(group: Term): void {
    const index = poolGroupIndex(this.adapter, group);
    if (index !== undefined && !this.workers.has(index) && !this.stopped) this.listen(index);
  }

  /** Starts the worker of pool group `index`: registered under the group's name and joined to it, as PG2Worker does. */
  private listen(index: number): void {
    const name = poolGroupName(this.adapter, index);
    const worker = this.node.spawn({ name });
    // Exit signals from links become messages the loop ignores; a killed worker is restarted below.
    worker.trapExit = true;
    this.workers.set(index, worker);
    this.scope.join(atom(name), worker);
    // cannot reject: serve() only resolves (when the worker exits), and onWorkerExit catches what a restart throws.
    void worker
      .serve(
        (m) => this.onWorkerMessage(m),
        (err) => this.logger.error(`PubSub ${this.name}: ${err instanceof Error ? err.message : String(err)}`),
      )
      .then(() => this.onWorkerExit(index, worker));
  }

  private onWorkerMessage(m: Term): void {
    const forward = parseForwardToLocal(m);
    if (forward === undefined) return; // PG2Worker ignores anything else too
    this.subscribers.dispatch(forward.topic, forward.message, forward.dispatcher);
  }

  /** A worker exited while the pubsub runs (someone killed it): start it again, as its supervisor would. */
  private onWorkerExit(index: number, worker: Process): void {
    if (this.stopped || this.workers.get(index) !== worker) return;
    this.workers.delete(index);
    try {
      this.listen(index);
      this.logger.warn(`PubSub ${this.name}: worker ${poolGroupName(this.adapter, index)} exited; restarted`);
    } catch (err) {
      // The node stopped: the pubsub stops with it, and iterators waiting on it end.
      this.logger.debug(`PubSub ${this.name}: worker not restarted: ${err instanceof Error ? err.message : String(err)}`);
      this.stop();
    }
  }

  private assertRunning(): void {
    if (this.stopped) throw new NotRunningError(`PubSub ${this.name} is stopped`);
  }
}
