/**
 * DnsCluster: the Gleam nessie_cluster API in TypeScript. An actor that polls DNS for
 * the addresses of its peers and connects to `basename@address` for each, like
 * nessie_cluster and Elixir's DNSCluster.
 *
 * `DnsCluster.new()` is an immutable builder whose every `with*` states its default;
 * `build()` gives the plain `DnsClusterOptions` it stands for, which `startSpec` also
 * takes directly.
 */
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { toLogFunction, type Logger } from '../logger.js';
import { defaultResolver, type Resolver } from './resolver.js';
import { DnsClusterHandle, type ClusterNode, type DiscoveryResult } from './handle.js';

/**
 * Which names registered with EPMD a `names` query connects to: a string is a prefix
 * (`'app-'`), a RegExp is tested against the name, a function gets the name and the
 * address. Names are the alive part, before the `@`.
 */
export type NamePattern = string | RegExp | ((name: string, address: string) => boolean);

/**
 * What to look up: a DNS name, or nothing at all. The nodes found at the addresses a
 * DNS name gives are `basename@address` (the local node's basename, or the query's own),
 * or with `names`, every name registered with EPMD at that address that matches.
 */
export type DnsQuery = { type: 'query'; query: string; basename?: string | undefined; names?: NamePattern | undefined } | { type: 'ignore' };

/** Options of `DnsQuery.query`: at most one of them (`undefined` counts as not given). */
export interface DnsQueryOptions {
  /** The basename of the nodes at the answered addresses. Default: the local node's basename. */
  basename?: string | undefined;
  /**
   * Ask each answered address's EPMD for its registered names (NAMES_REQ) and connect to
   * those that match, for deployments whose basename changes per release. Needs a
   * resolver with `names` (the default resolver has it). See `withEpmdNames`.
   */
  names?: NamePattern | undefined;
}

export const DnsQuery = {
  /**
   * A DNS name to query. `basename` overrides the local node's basename for the names
   * built from its answers; `names` finds the basenames through EPMD instead.
   */
  query(query: string, options: DnsQueryOptions = {}): DnsQuery {
    return {
      type: 'query',
      query,
      ...(options.basename === undefined ? {} : { basename: options.basename }),
      ...(options.names === undefined ? {} : { names: options.names }),
    };
  },
  /**
   * A query from one word of configuration (a `--query` flag, a DNS_CLUSTER_QUERY item):
   * `NAME` uses the local node's basename; `BASENAME:NAME` (DNSCluster's
   * `{basename, query}`) another one; `PREFIX*:NAME` finds the basenames through EPMD,
   * connecting to the registered names that start with PREFIX (`my-app-*:my-app.internal`
   * for Fly's per-release names). An IP address literal is taken as a NAME.
   * @throws InvalidOptionError (ERR_INVALID_OPTION) for an empty NAME.
   */
  parse(spec: string): DnsQuery {
    const i = spec.indexOf(':');
    const head = spec.slice(0, i);
    if (i <= 0 || isIP(spec) !== 0 || !/^[A-Za-z0-9_-]+\*?$/.test(head)) return checked(DnsQuery.query(spec), spec);
    const name = spec.slice(i + 1);
    return checked(head.endsWith('*') ? DnsQuery.query(name, { names: head.slice(0, -1) }) : DnsQuery.query(name, { basename: head }), spec);
  },
  /** Do not look anything up (e.g. in development): the cluster starts but connects to nothing. */
  Ignore: { type: 'ignore' } as DnsQuery,
} as const;

function checked(q: DnsQuery, spec: string): DnsQuery {
  if (q.type === 'query' && q.query === '') throw new InvalidOptionError('query', 'NAME, BASENAME:NAME or PREFIX*:NAME', spec);
  return q;
}

/** Log levels passed to a `Logger`. */
export type LoggerLevel = 'debug' | 'info' | 'warn' | 'error';
/** The seed's logger: gets a level and a message. */
export type ClusterLogger = (level: LoggerLevel, message: string) => void;

/** Prints `[nessie_cluster][INFO] message`, as the seed's default logger does. */
export const defaultLogger: ClusterLogger = (level, message) => {
  if (level === 'debug') return;
  console.log(`[nessie_cluster][${level.toUpperCase()}] ${message}`);
};

/** How `names` queries ask EPMD. */
export interface EpmdNamesOptions {
  /** Deadline for one address's EPMD to answer NAMES_REQ, in ms; after it the address is skipped for the round. Default 1000. */
  timeoutMs: number;
  /** How long an address's answer is reused before EPMD is asked again, in ms. A failed connect to a name from it drops it sooner. Default 30000. */
  cacheMs: number;
  /** Addresses whose answers are kept at most (the oldest go first). Default 1024. */
  maxCached: number;
}

export interface DnsClusterOptions {
  /** Name of the cluster's process on the node, unique per node. Default `nessie_cluster`. */
  name: string;
  /** What to look up. Default `DnsQuery.Ignore`. Several queries are looked up together. */
  queries: DnsQuery[];
  /** Poll interval in ms; `null` polls only when `discoverNodes` is called. Default 5000. */
  interval: number | null;
  logger: ClusterLogger;
  /** Default: `defaultResolver(node)`. */
  resolver: Resolver | undefined;
  /** Per-connect timeout in ms. Default: the node's connectTimeout (7000). */
  connectTimeout: number | undefined;
  /** Connects made at once during a discovery. Default 64. */
  maxConcurrentConnects: number;
  /** Disconnect connected nodes with a queried basename that DNS no longer lists. Default false. */
  prune: boolean;
  /** Consecutive rounds a node must be missing from successful lookups before `prune` disconnects it. Default 3. */
  pruneAfter: number;
  /** How `names` queries ask EPMD. Default `{ timeoutMs: 1000, cacheMs: 30000, maxCached: 1024 }`. */
  epmdNames: EpmdNamesOptions;
  /** Disconnect the nodes this cluster connected when it stops. Default false. */
  disconnectOnStop: boolean;
}

const DEFAULTS: DnsClusterOptions = {
  name: 'nessie_cluster',
  queries: [DnsQuery.Ignore],
  interval: 5000,
  logger: defaultLogger,
  resolver: undefined,
  connectTimeout: undefined,
  maxConcurrentConnects: 64,
  prune: false,
  pruneAfter: 3,
  epmdNames: { timeoutMs: 1000, cacheMs: 30_000, maxCached: 1024 },
  disconnectOnStop: false,
};

export class DnsCluster {
  private constructor(private readonly options: DnsClusterOptions) {}

  /** A cluster with the seed's defaults: name `nessie_cluster`, query Ignore, 5000 ms, default logger and resolver. */
  static new(): DnsCluster {
    return new DnsCluster(DEFAULTS);
  }

  /** The process name. Default `nessie_cluster`. */
  withName(name: string): DnsCluster {
    return this.with({ name });
  }

  /** The query (or queries). Default `DnsQuery.Ignore`. */
  withQuery(query: DnsQuery | string | Array<DnsQuery | string>): DnsCluster {
    const list = Array.isArray(query) ? query : [query];
    return this.with({ queries: list.map((q) => (typeof q === 'string' ? DnsQuery.query(q) : q)) });
  }

  /** Poll interval in ms; `null` to poll only on `discoverNodes`. Default 5000. */
  withInterval(interval: number | null): DnsCluster {
    return this.with({ interval });
  }

  /** The logger: the seed's `(level, message)` function, or a Logger object (pino, console...). Default: prints `[nessie_cluster][LEVEL] message`. */
  withLogger(logger: ClusterLogger | Logger): DnsCluster {
    return this.with({ logger: toLogFunction(logger) });
  }

  /** A custom resolver, mostly for tests. Default: `defaultResolver(node)`. */
  withResolver(resolver: Resolver): DnsCluster {
    return this.with({ resolver });
  }

  /** Per-connect timeout in ms. Default: the node's connectTimeout. */
  withConnectTimeout(ms: number): DnsCluster {
    return this.with({ connectTimeout: ms });
  }

  /** Connects made at once during a discovery. Default 64. */
  withMaxConcurrentConnects(n: number): DnsCluster {
    return this.with({ maxConcurrentConnects: n });
  }

  /**
   * Disconnect nodes that left DNS (same basename as a query, or matching a `names`
   * query). A node goes after `withPruneAfter` consecutive rounds without it, so one
   * empty or NXDOMAIN answer disconnects nothing. Default false.
   */
  withPrune(prune: boolean): DnsCluster {
    return this.with({ prune });
  }

  /** Consecutive rounds a node must be missing from DNS before `withPrune` disconnects it. Default 3. */
  withPruneAfter(rounds: number): DnsCluster {
    return this.with({ pruneAfter: rounds });
  }

  /** How `names` queries ask EPMD (per-address timeout, cache time, cache size). Default `{ timeoutMs: 1000, cacheMs: 30000, maxCached: 1024 }`. */
  withEpmdNames(options: OptionalFields<EpmdNamesOptions>): DnsCluster {
    return this.with({ epmdNames: { ...this.options.epmdNames, ...givenFields(options) } });
  }

  /** Disconnect the nodes this cluster connected when it stops. Default false. */
  withDisconnectOnStop(disconnect: boolean): DnsCluster {
    return this.with({ disconnectOnStop: disconnect });
  }

  /** The plain options this builder stands for. */
  build(): DnsClusterOptions {
    return { ...this.options, queries: [...this.options.queries] };
  }

  /** Starts the cluster on `node` (see `startSpec`). */
  start(node: ClusterNode): Promise<DnsClusterHandle> {
    return startSpec(this, node);
  }

  private with(change: Partial<DnsClusterOptions>): DnsCluster {
    return new DnsCluster({ ...this.options, ...change });
  }
}

/**
 * Starts the actor: polls every interval (the first discovery at once) and connects
 * to the nodes it finds. With `withInterval(null)` it looks up only when
 * `discoverNodes` is called, as the seed does. With `DnsQuery.Ignore` it starts but
 * never looks anything up.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for bad options, a name already used
 *   on this node, or a `names` query with a resolver that has no `names`.
 */
export async function startSpec(cluster: DnsCluster | OptionalFields<DnsClusterOptions>, node: ClusterNode): Promise<DnsClusterHandle> {
  const options = validate(cluster instanceof DnsCluster ? cluster.build() : { ...DEFAULTS, ...givenFields(cluster) });
  const resolver = options.resolver ?? defaultResolver(node);
  if (resolver.names === undefined && options.queries.some((q) => q.type === 'query' && q.names !== undefined)) {
    throw new InvalidOptionError('query names', 'a resolver with names(address, timeoutMs), as defaultResolver has', 'a resolver without names');
  }
  return DnsClusterHandle.start(options, resolver, node);
}

/**
 * `T` with every field optional, `undefined` meaning "not given" (the default), so that
 * `{ interval: config.interval }` type-checks under `exactOptionalPropertyTypes`.
 */
export type OptionalFields<T> = { [K in keyof T]?: T[K] | undefined };

/** The fields of `o` that were given: an `undefined` one must not hide a default when spread. */
function givenFields<T extends object>(o: OptionalFields<T>): Partial<T> {
  const given: Partial<T> = {};
  if (o === null || typeof o !== 'object') return given; // as spreading it would: validate() then judges the defaults
  for (const key of Object.keys(o) as Array<keyof T>) {
    if (o[key] !== undefined) given[key] = o[key] as T[keyof T];
  }
  return given;
}

function validate(o: DnsClusterOptions): DnsClusterOptions {
  if (typeof o.name !== 'string' || o.name.length === 0) throw new InvalidOptionError('name', 'a non-empty string', o.name);
  if (!Array.isArray(o.queries) || o.queries.length === 0) throw new InvalidOptionError('query', 'a DnsQuery or a list of them', o.queries);
  for (const q of o.queries) {
    if (q?.type === 'ignore') continue;
    if (q?.type !== 'query' || typeof q.query !== 'string' || q.query.length === 0) {
      throw new InvalidOptionError('query', "DnsQuery.query('name') or DnsQuery.Ignore", q);
    }
    if (q.basename !== undefined && !/^[A-Za-z0-9_-]+$/.test(q.basename)) {
      throw new InvalidOptionError('query basename', 'letters, digits, _ and -', q.basename);
    }
    if (q.names !== undefined) {
      if (!(typeof q.names === 'string' || q.names instanceof RegExp || typeof q.names === 'function')) {
        throw new InvalidOptionError('query names', 'a prefix string, a RegExp or a function (name, address) => boolean', q.names);
      }
      if (q.basename !== undefined) throw new InvalidOptionError('query', 'either basename or names, not both', q);
    }
  }
  if (o.interval !== null && !(typeof o.interval === 'number' && o.interval > 0 && Number.isFinite(o.interval))) {
    throw new InvalidOptionError('interval', 'a positive number of ms, or null', o.interval);
  }
  if (typeof o.logger !== 'function') throw new InvalidOptionError('logger', 'a function (level, message) => void', o.logger);
  if (o.connectTimeout !== undefined && !(o.connectTimeout > 0)) throw new InvalidOptionError('connectTimeout', 'a positive number of ms', o.connectTimeout);
  if (!(Number.isInteger(o.maxConcurrentConnects) && o.maxConcurrentConnects > 0)) {
    throw new InvalidOptionError('maxConcurrentConnects', 'a positive integer', o.maxConcurrentConnects);
  }
  if (!(Number.isInteger(o.pruneAfter) && o.pruneAfter > 0)) throw new InvalidOptionError('pruneAfter', 'a positive integer number of rounds', o.pruneAfter);
  const n = o.epmdNames;
  if (n === null || typeof n !== 'object') throw new InvalidOptionError('epmdNames', '{ timeoutMs, cacheMs, maxCached }', n);
  if (!(n.timeoutMs > 0 && n.timeoutMs <= 0x7fffffff)) throw new InvalidOptionError('epmdNames.timeoutMs', 'a positive number of ms', n.timeoutMs);
  if (!(n.cacheMs >= 0 && Number.isFinite(n.cacheMs))) throw new InvalidOptionError('epmdNames.cacheMs', 'a number of ms, 0 or more', n.cacheMs);
  if (!(Number.isInteger(n.maxCached) && n.maxCached >= 0)) throw new InvalidOptionError('epmdNames.maxCached', 'an integer, 0 or more', n.maxCached);
  return o;
}

/** The seed's `discover_nodes(subject, timeout)`: see `DnsClusterHandle.discoverNodes`. */
export function discoverNodes(handle: DnsClusterHandle, timeoutMs?: number): Promise<DiscoveryResult> {
  return handle.discoverNodes(timeoutMs);
}

/** The seed's `has_ran(subject, timeout)`. */
export function hasRan(handle: DnsClusterHandle, timeoutMs?: number): Promise<boolean> {
  return handle.hasRan(timeoutMs);
}

/** The seed's `stop(subject, timeout)`. */
export function stop(handle: DnsClusterHandle, timeoutMs?: number): Promise<void> {
  return handle.stop(timeoutMs);
}
