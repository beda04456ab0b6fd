/**
 * The running DnsCluster actor and its handle (the seed's `Subject(Message)`).
 *
 * Actor rules: discovery rounds never overlap (a request during a round gets the
 * next round, and requests that wait together share it); the poll timer is armed
 * after a round ends, so a slow round delays the next instead of piling up; after
 * `stop` no timer remains, and every call but `stop` rejects with NotRunningError.
 */
import { EventEmitter } from 'node:events';
import { InvalidOptionError, NotRunningError, TimeoutError } from '../errors.js';
import type { Process } from '../node/process.js';
import { atom } from '../term/types.js';
import type { DnsClusterOptions } from './dns-cluster.js';
import type { ConnectError, Resolver, ResolverNode } from './resolver.js';

/** The part of a Node a cluster uses. */
export interface ClusterNode extends ResolverNode {
  readonly name: string;
  readonly connectTimeout: number;
  spawn(options: { name?: string }): Process;
}

/** A node that could not be connected during a discovery. */
export interface NodeConnectError {
  /** The `basename@ip` name that failed. */
  node: string;
  error: ConnectError;
}

/** What `discoverNodes` answers: the connected nodes after the round, and the failures. */
export interface DiscoveryResult {
  nodes: string[];
  errors: NodeConnectError[];
}

/** Emitted after each round. */
export interface DiscoveryEvent {
  /** Names built from the DNS answers (self excluded). */
  found: string[];
  /** Names newly connected by this round. */
  connected: string[];
  failed: NodeConnectError[];
  /** Queries whose lookup failed, with the reason. */
  lookupErrors: Array<{ query: string; error: string }>;
  durationMs: number;
}

const DISCOVER = atom('discover');

export class DnsClusterHandle extends EventEmitter<{ discovery: [DiscoveryEvent] }> {
  private running: Promise<DiscoveryResult> | undefined;
  private queued: Promise<DiscoveryResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ran = false;
  private stopped = false;
  private readonly connectedByUs = new Set<string>();
  /** The last round's outcome, for status pages. */
  lastDiscovery: DiscoveryEvent | undefined;

  private constructor(
    readonly options: DnsClusterOptions,
    private readonly resolver: Resolver,
    private readonly node: ClusterNode,
    private readonly process: Process,
  ) {
    super();
  }

  /** @internal use `startSpec` or `DnsCluster.start` */
  static async start(options: DnsClusterOptions, resolver: Resolver, node: ClusterNode): Promise<DnsClusterHandle> {
    let process: Process;
    try {
      process = node.spawn({ name: options.name });
    } catch {
      throw new InvalidOptionError('name', `a name not already registered on ${node.name}`, options.name);
    }
    const handle = new DnsClusterHandle(options, resolver, node, process);
    void handle.serve();
    if (handle.ignoring) {
      options.logger('info', 'DNS query is Ignore: not discovering nodes');
    } else {
      void handle.requestRound();
    }
    return handle;
  }

  /** `true` when every query is `Ignore`. */
  get ignoring(): boolean {
    return this.options.queries.every((q) => q.type === 'ignore');
  }

  /**
   * Runs a discovery. Without `timeoutMs` it only triggers one and resolves at once
   * to `{ nodes: [], errors: [] }`, as the seed does; with it, it waits for the round.
   * @throws TimeoutError when the round takes longer; NotRunningError after stop.
   */
  async discoverNodes(timeoutMs?: number): Promise<DiscoveryResult> {
    this.assertRunning();
    const round = this.requestRound();
    if (timeoutMs === undefined) {
      round.catch(() => undefined);
      return { nodes: [], errors: [] };
    }
    return withTimeout(round, timeoutMs, 'discoverNodes');
  }

  /** Whether a discovery has finished at least once: for health checks. */
  async hasRan(_timeoutMs?: number): Promise<boolean> {
    this.assertRunning();
    return this.ran;
  }

  /** Stops the actor (waiting up to `timeoutMs` for a round in progress). Idempotent. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const inFlight = this.queued ?? this.running;
    if (inFlight !== undefined) await withTimeout(inFlight, timeoutMs, 'stop').catch(() => undefined);
    if (this.options.disconnectOnStop) {
      const connected = new Set(await this.resolver.listNodes());
      for (const name of this.connectedByUs) if (connected.has(name)) await this.resolver.disconnectNode?.(name);
    }
    this.process.exit();
  }

  private assertRunning(): void {
    if (this.stopped) throw new NotRunningError(`DNS cluster ${this.options.name} is stopped`);
  }

  /** BEAM processes can trigger a round too: `{nessie_cluster, Node} ! discover`. */
  private serve(): Promise<void> {
    return this.process.serve((message) => {
      if (message === DISCOVER && !this.stopped) void this.requestRound().catch(() => undefined);
    });
  }

  private requestRound(): Promise<DiscoveryResult> {
    if (this.running === undefined) return this.startRound();
    this.queued ??= this.running.then(
      () => this.startRound(),
      () => this.startRound(),
    );
    return this.queued;
  }

  private startRound(): Promise<DiscoveryResult> {
    this.queued = undefined;
    clearTimeout(this.timer);
    const round = this.round().finally(() => {
      if (this.running === round) this.running = undefined;
      this.scheduleNext();
    });
    this.running = round;
    return round;
  }

  private scheduleNext(): void {
    if (this.stopped || this.options.interval === null || this.ignoring || this.queued !== undefined) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.requestRound().catch(() => undefined), this.options.interval);
    this.timer.unref();
  }

  private async round(): Promise<DiscoveryResult> {
    const log = this.options.logger;
    const started = Date.now();
    if (this.ignoring) {
      log('warn', 'discovery requested, but the DNS query is Ignore');
      this.ran = true;
      return { nodes: await this.resolver.listNodes(), errors: [] };
    }
    const { names, lookupErrors } = await this.lookupAll();
    const connectedBefore = new Set(await this.resolver.listNodes());
    const todo = names.filter((n) => !connectedBefore.has(n));
    const outcomes = await mapLimited(todo, this.options.maxConcurrentConnects, (name) => this.connectOne(name));
    const connected: string[] = [];
    const failed: NodeConnectError[] = [];
    for (const [i, error] of outcomes.entries()) {
      const name = todo[i];
      if (error === undefined) {
        connected.push(name);
        this.connectedByUs.add(name);
        log('info', `connected to ${name}`);
      } else {
        failed.push({ node: name, error });
        log('warn', `failed to connect to ${name}: ${describeError(error)}`);
      }
    }
    if (this.options.prune && lookupErrors.length === 0) await this.prune(new Set(names));
    this.ran = true;
    const event: DiscoveryEvent = { found: names, connected, failed, lookupErrors, durationMs: Date.now() - started };
    this.lastDiscovery = event;
    this.emit('discovery', event);
    return { nodes: await this.resolver.listNodes(), errors: failed };
  }

  /** Looks every query up at once; a failing query is logged and contributes nothing. */
  private async lookupAll(): Promise<{ names: string[]; lookupErrors: DiscoveryEvent['lookupErrors'] }> {
    const self = this.node.name;
    const ownBasename = this.resolver.basename(self);
    const queries = this.options.queries.filter((q) => q.type === 'query');
    const lookupErrors: DiscoveryEvent['lookupErrors'] = [];
    const answers = await Promise.all(
      queries.map(async (q) => {
        try {
          const basename = q.basename ?? ownBasename;
          if (basename === undefined) throw new Error(`local node ${self} has no basename`);
          return (await this.resolver.lookup(q.query)).map((ip) => `${basename}@${ip}`);
        } catch (err) {
          const message = (err as Error)?.message ?? String(err);
          lookupErrors.push({ query: q.query, error: message });
          this.options.logger('error', `DNS lookup of ${q.query} failed: ${message}`);
          return [];
        }
      }),
    );
    const names = [...new Set(answers.flat())].filter((n) => n !== self);
    return { names, lookupErrors };
  }

  /** Connects one node within the per-connect timeout; resolves to the error, or undefined on success. */
  private async connectOne(name: string): Promise<ConnectError | undefined> {
    const timeoutMs = this.options.connectTimeout ?? this.node.connectTimeout;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ConnectError>((resolve) => {
      timer = setTimeout(() => resolve({ type: 'FailedToConnect', reason: `timed out after ${timeoutMs} ms` }), timeoutMs);
    });
    try {
      const attempt = this.resolver.connectNode(name).then(
        (r): ConnectError | undefined => (r.ok ? undefined : r.error),
        (err: unknown): ConnectError => ({ type: 'FailedToConnect', reason: (err as Error)?.message ?? String(err) }),
      );
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async prune(found: Set<string>): Promise<void> {
    const basenames = new Set(
      this.options.queries.flatMap((q) => (q.type === 'query' ? [q.basename ?? this.resolver.basename(this.node.name)] : [])),
    );
    for (const name of await this.resolver.listNodes()) {
      if (found.has(name) || !basenames.has(this.resolver.basename(name))) continue;
      this.options.logger('info', `pruning ${name}: no longer in DNS`);
      await this.resolver.disconnectNode?.(name);
    }
  }
}

function describeError(e: ConnectError): string {
  if (e.type === 'LocalNodeIsNotAlive') return 'local node is not alive';
  const r = e.reason;
  return r === undefined ? 'failed to connect' : typeof r === 'string' ? r : r.message;
}

/** Runs `fn` over `items` with at most `limit` at once; results keep the items' order. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`, ms)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
