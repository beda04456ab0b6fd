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
import type { DnsClusterOptions, DnsQuery } from './dns-cluster.js';
import { EpmdNamesCache, matchesPattern } from './epmd-names.js';
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
  /** Addresses of `names` queries whose EPMD could not be asked this round (skipped), with the reason. */
  namesErrors: Array<{ query: string; address: string; error: string }>;
  durationMs: number;
}

const DISCOVER = atom('discover');

type NameQuery = Extract<DnsQuery, { type: 'query' }>;

/** One query's part of a round. */
interface QueryOutcome {
  query: NameQuery;
  /** false when the DNS lookup failed: nothing is known of this query's nodes this round. */
  ok: boolean;
  addresses: string[];
  /** Node names built from the answers, with the address each came from. */
  found: Array<{ node: string; address: string; viaNames: boolean }>;
}

export class DnsClusterHandle extends EventEmitter<{ discovery: [DiscoveryEvent] }> {
  private running: Promise<DiscoveryResult> | undefined;
  private queued: Promise<DiscoveryResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ran = false;
  private stopped = false;
  private readonly connectedByUs = new Set<string>();
  /** Consecutive rounds each connected node has been missing from DNS (for prune). */
  private readonly misses = new Map<string, number>();
  private readonly namesCache: EpmdNamesCache;
  /**
   * Nodes whose last connect failed, with the rounds they have failed in a row, and
   * queries whose last lookup failed: each is logged at error when it starts failing
   * and once when it recovers, not every round. Only names of the current round are
   * kept, so this is bounded by the DNS answers.
   */
  private readonly failingNodes = new Map<string, number>();
  private readonly failingLookups = new Set<string>();
  /** The last round's outcome, for status pages. */
  lastDiscovery: DiscoveryEvent | undefined;

  private constructor(
    readonly options: DnsClusterOptions,
    private readonly resolver: Resolver,
    private readonly node: ClusterNode,
    private readonly process: Process,
  ) {
    super();
    this.namesCache = new EpmdNamesCache((address, timeoutMs) => this.resolver.names!(address, timeoutMs), options.epmdNames);
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
    // serve() cannot reject: a process's serve loop resolves when it exits.
    void handle.serve();
    // As the seed: the first round at start only when polling; with Ignore or
    // withInterval(null), nothing is looked up until discoverNodes is called.
    if (handle.ignoring) options.logger('debug', 'DNS query is Ignore: not discovering nodes');
    else if (options.interval !== null) void handle.requestRound().catch((err: unknown) => handle.logRoundFailure(err));
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

  /** Whether a discovery has finished at least once: for health checks. With `Ignore` it stays false, as in the seed. */
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
    this.options.logger('warn', 'DNS cluster stopped.');
  }

  private assertRunning(): void {
    if (this.stopped) throw new NotRunningError(`DNS cluster ${this.options.name} is stopped`);
  }

  /** BEAM processes can trigger a round too: `{nessie_cluster, Node} ! discover`. */
  /** A round that threw (a resolver or a discovery listener of the user's did): logged, and the next round runs as planned. */
  private logRoundFailure(err: unknown): void {
    this.options.logger('error', `discovery round failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  private serve(): Promise<void> {
    return this.process.serve((message) => {
      if (message === DISCOVER && !this.stopped) void this.requestRound().catch((err: unknown) => this.logRoundFailure(err));
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
      // The seed's text and level; and, as in the seed, an Ignore round does not count for hasRan.
      log('warn', 'DNS cluster is set to ignore, will not discover or connect to nodes.');
      return { nodes: await this.resolver.listNodes(), errors: [] };
    }
    const { outcomes, lookupErrors, namesErrors } = await this.lookupAll();
    const self = this.node.name;
    const origin = new Map<string, QueryOutcome['found'][number]>();
    for (const o of outcomes) for (const f of o.found) if (f.node !== self && !origin.has(f.node)) origin.set(f.node, f);
    const names = [...origin.keys()];
    // Hidden nodes are not in listNodes: without this they would be connected (and logged) every round.
    const connectedBefore = new Set(await this.connectedNodes());
    const todo = names.filter((n) => !connectedBefore.has(n));
    const results = await mapLimited(todo, this.options.maxConcurrentConnects, (name) => this.connectOne(name));
    const connected: string[] = [];
    const failed: NodeConnectError[] = [];
    // A node no longer tried (gone from DNS, or connected some other way) is no longer
    // failing; but one missing because a lookup failed may still be, so keep it then.
    if (lookupErrors.length === 0) {
      const tried = new Set(todo);
      for (const name of this.failingNodes.keys()) if (!tried.has(name)) this.failingNodes.delete(name);
    }
    for (const [i, error] of results.entries()) {
      const name = todo[i];
      if (error === undefined) {
        connected.push(name);
        this.connectedByUs.add(name);
        // The seed's line; after failures it is also the recovery line.
        const failedRounds = this.failingNodes.get(name);
        this.failingNodes.delete(name);
        log('info', `Connected to node ${name}`);
        if (failedRounds !== undefined) log('debug', `${name} connected after ${failedRounds} failed rounds`);
      } else {
        failed.push({ node: name, error });
        const failedRounds = (this.failingNodes.get(name) ?? 0) + 1;
        this.failingNodes.set(name, failedRounds);
        if (failedRounds === 1) log('error', `Failed to connect to node ${name}: ${describeError(error)}`);
        else log('debug', `Failed to connect to node ${name}: ${describeError(error)} (${failedRounds} rounds in a row)`);
        // The name may be stale (a new release registered another): ask that EPMD again next round.
        if (origin.get(name)?.viaNames === true) this.namesCache.forget(origin.get(name)!.address);
      }
    }
    if (this.options.prune) await this.prune(outcomes);
    this.ran = true;
    const event: DiscoveryEvent = { found: names, connected, failed, lookupErrors, namesErrors, durationMs: Date.now() - started };
    this.lastDiscovery = event;
    this.emit('discovery', event);
    return { nodes: await this.resolver.listNodes(), errors: failed };
  }

  private async connectedNodes(): Promise<string[]> {
    return this.resolver.connectedNodes !== undefined ? this.resolver.connectedNodes() : this.resolver.listNodes();
  }

  /** Looks every query up at once; a failing query is logged and contributes nothing. */
  private async lookupAll(): Promise<{ outcomes: QueryOutcome[]; lookupErrors: DiscoveryEvent['lookupErrors']; namesErrors: DiscoveryEvent['namesErrors'] }> {
    const lookupErrors: DiscoveryEvent['lookupErrors'] = [];
    const namesErrors: DiscoveryEvent['namesErrors'] = [];
    const queries = this.options.queries.filter((q): q is NameQuery => q.type === 'query');
    const outcomes = await Promise.all(queries.map((q) => this.lookupQuery(q, lookupErrors, namesErrors)));
    return { outcomes, lookupErrors, namesErrors };
  }

  private async lookupQuery(q: NameQuery, lookupErrors: DiscoveryEvent['lookupErrors'], namesErrors: DiscoveryEvent['namesErrors']): Promise<QueryOutcome> {
    const log = this.options.logger;
    const basename = q.basename ?? this.resolver.basename(this.node.name);
    let addresses: string[];
    try {
      if (q.names === undefined && basename === undefined) throw new Error(`local node ${this.node.name} has no basename`);
      addresses = await this.resolver.lookup(q.query);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      lookupErrors.push({ query: q.query, error: message });
      const first = !this.failingLookups.has(q.query);
      this.failingLookups.add(q.query);
      log(first ? 'error' : 'debug', `DNS lookup of ${q.query} failed: ${message}`);
      return { query: q, ok: false, addresses: [], found: [] };
    }
    if (this.failingLookups.delete(q.query)) log('info', `DNS lookup of ${q.query} succeeded again`);
    const pattern = q.names;
    if (pattern === undefined) return { query: q, ok: true, addresses, found: addresses.map((address) => ({ node: `${basename}@${address}`, address, viaNames: false })) };
    const answers = await mapLimited(addresses, this.options.maxConcurrentConnects, (address) => this.namesCache.lookup(address));
    const found: QueryOutcome['found'] = [];
    for (const [i, answer] of answers.entries()) {
      const address = addresses[i];
      if (!answer.ok) {
        namesErrors.push({ query: q.query, address, error: answer.error });
        log('debug', `skipping ${address} for ${q.query}: ${answer.error}`);
        continue;
      }
      for (const name of answer.names) {
        const m = matchesPattern(pattern, name, address);
        if (m.error !== undefined) log('debug', `names pattern of ${q.query} threw for ${name}@${address}: ${m.error}`);
        if (m.match) found.push({ node: `${name}@${address}`, address, viaNames: true });
      }
    }
    return { query: q, ok: true, addresses, found };
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

  /**
   * Disconnects the connected nodes a query claims (its basename, or its `names`
   * pattern) whose address has been missing from that query's answers for
   * `pruneAfter` rounds in a row. A round whose lookup failed counts neither way, and
   * one empty or NXDOMAIN answer disconnects nothing.
   */
  private async prune(outcomes: QueryOutcome[]): Promise<void> {
    const ownBasename = this.resolver.basename(this.node.name);
    const connected = await this.connectedNodes();
    const seen = new Set(connected);
    for (const name of this.misses.keys()) if (!seen.has(name)) this.misses.delete(name);
    for (const name of connected) {
      const at = name.indexOf('@');
      const alive = name.slice(0, at);
      const host = name.slice(at + 1);
      const claimers = outcomes.filter((o) =>
        o.query.names === undefined ? alive === (o.query.basename ?? ownBasename) : matchesPattern(o.query.names, alive, host).match,
      );
      if (claimers.length === 0 || claimers.some((o) => o.ok && o.addresses.includes(host))) {
        this.misses.delete(name);
        continue;
      }
      if (claimers.some((o) => !o.ok)) continue;
      const missed = (this.misses.get(name) ?? 0) + 1;
      if (missed < this.options.pruneAfter) {
        this.misses.set(name, missed);
        this.options.logger('debug', `${name} is missing from DNS (${missed} of ${this.options.pruneAfter} rounds before pruning)`);
        continue;
      }
      this.misses.delete(name);
      this.options.logger('debug', `pruning ${name}: missing from DNS for ${missed} rounds`);
      await this.resolver.disconnectNode?.(name);
    }
  }
}

/** The seed's `connect_error_to_string`, then our reason in parentheses when there is one. */
function describeError(e: ConnectError): string {
  if (e.type === 'LocalNodeIsNotAlive') return 'local node is not alive';
  const r = e.reason;
  return r === undefined ? 'failed to connect' : `failed to connect (${typeof r === 'string' ? r : r.message})`;
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
