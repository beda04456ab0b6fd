/**
 * DnsCluster: the Gleam nessie_cluster API in TypeScript. An actor that polls DNS for
 * the addresses of its peers and connects to `basename@address` for each, like
 * nessie_cluster and Elixir's DNSCluster.
 *
 * `DnsCluster.new()` is an immutable builder whose every `with*` states its default;
 * `build()` gives the plain `DnsClusterOptions` it stands for, which `startSpec` also
 * takes directly.
 */
import { InvalidOptionError } from '../errors.js';
import { toLogFunction, type Logger } from '../logger.js';
import { defaultResolver, type Resolver } from './resolver.js';
import { DnsClusterHandle, type ClusterNode, type DiscoveryResult } from './handle.js';

/** What to look up: a DNS name (optionally with a basename of its own), or nothing at all. */
export type DnsQuery = { type: 'query'; query: string; basename?: string } | { type: 'ignore' };

export const DnsQuery = {
  /** A DNS name to query. `basename` overrides the local node's basename for the names built from its answers. */
  query(query: string, options: { basename?: string } = {}): DnsQuery {
    return { type: 'query', query, ...(options.basename === undefined ? {} : { basename: options.basename }) };
  },
  /** Do not look anything up (e.g. in development): the cluster starts but connects to nothing. */
  Ignore: { type: 'ignore' } as DnsQuery,
} as const;

/** Log levels passed to a `Logger`. */
export type LoggerLevel = 'debug' | 'info' | 'warn' | 'error';
/** The seed's logger: gets a level and a message. */
export type ClusterLogger = (level: LoggerLevel, message: string) => void;

/** Prints `[nessie_cluster][INFO] message`, as the seed's default logger does. */
export const defaultLogger: ClusterLogger = (level, message) => {
  if (level === 'debug') return;
  console.log(`[nessie_cluster][${level.toUpperCase()}] ${message}`);
};

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

  /** Disconnect nodes that left DNS (same basename as a query). Default false. */
  withPrune(prune: boolean): DnsCluster {
    return this.with({ prune });
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
 * to the nodes it finds. With `DnsQuery.Ignore` it starts but never looks anything up.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for bad options or a name already used on this node.
 */
export async function startSpec(cluster: DnsCluster | Partial<DnsClusterOptions>, node: ClusterNode): Promise<DnsClusterHandle> {
  const options = validate(cluster instanceof DnsCluster ? cluster.build() : { ...DEFAULTS, ...cluster });
  const resolver = options.resolver ?? defaultResolver(node);
  return DnsClusterHandle.start(options, resolver, node);
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
  }
  if (o.interval !== null && !(typeof o.interval === 'number' && o.interval > 0 && Number.isFinite(o.interval))) {
    throw new InvalidOptionError('interval', 'a positive number of ms, or null', o.interval);
  }
  if (typeof o.logger !== 'function') throw new InvalidOptionError('logger', 'a function (level, message) => void', o.logger);
  if (o.connectTimeout !== undefined && !(o.connectTimeout > 0)) throw new InvalidOptionError('connectTimeout', 'a positive number of ms', o.connectTimeout);
  if (!(Number.isInteger(o.maxConcurrentConnects) && o.maxConcurrentConnects > 0)) {
    throw new InvalidOptionError('maxConcurrentConnects', 'a positive integer', o.maxConcurrentConnects);
  }
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
