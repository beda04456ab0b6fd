/**
 * The seed's `Resolver`: the engine that does DNS lookups and node connections for a
 * DnsCluster. Tests inject their own; `defaultResolver` is what production uses.
 */
import { Resolver as DnsResolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { names as epmdNames } from '../epmd/client.js';
import { InvalidOptionError, type NessieError } from '../errors.js';
import { basenameOf } from '../node/node-name.js';

/** Why a connect failed, as gleam_erlang's `node.ConnectError`. */
export type ConnectError =
  | { type: 'FailedToConnect'; reason?: NessieError | string }
  | { type: 'LocalNodeIsNotAlive' };

/** The seed's `Result(Node, ConnectError)`. */
export type ConnectNodeResult = { ok: true; node: string } | { ok: false; error: ConnectError };

export interface Resolver {
  /** Everything before the `@` of a node name; undefined when there is none. */
  basename(node: string): string | undefined;
  /** Connects to a node by name. */
  connectNode(node: string): Promise<ConnectNodeResult>;
  /** The visible connected nodes. */
  listNodes(): string[] | Promise<string[]>;
  /**
   * Every connected node, hidden ones included, so that a connected hidden node is not
   * connected (and logged) again each round. Optional; default `listNodes`.
   */
  connectedNodes?(): string[] | Promise<string[]>;
  /** A DNS lookup: the IP addresses (as strings) the query names. Rejects when the lookup itself failed. */
  lookup(query: string): Promise<string[]>;
  /** Drops a connection (used by `withPrune` and `withDisconnectOnStop`). Optional. */
  disconnectNode?(node: string): Promise<unknown>;
  /**
   * The names (alive parts) registered with EPMD at `address`, answering within
   * `timeoutMs`; rejects when EPMD cannot be asked. Needed by `names` queries only.
   */
  names?(address: string, timeoutMs: number): Promise<string[]>;
}

/** The part of a Node the default resolver uses. */
export interface ResolverNode {
  tryConnect(name: string): Promise<{ ok: true } | { ok: false; error: NessieError }>;
  nodes(which?: 'visible' | 'connected'): string[];
  disconnect(name: string): Promise<boolean>;
}

export interface DefaultResolverOptions {
  /** DNS servers to ask (`'127.0.0.1:5354'`, `'[::1]:53'`). Default: the system's. */
  servers?: string[] | undefined;
  /** Search domains for names that do not end in a dot. Default: `search` of /etc/resolv.conf. */
  searchDomains?: string[] | undefined;
  /** Names with fewer dots than this try the search domains first (resolv.conf `ndots`; Kubernetes sets 5). Default: resolv.conf's, else 1. */
  ndots?: number | undefined;
  /** Per-query timeout in ms. Default 5000. */
  timeoutMs?: number | undefined;
  /**
   * The EPMD port `names` queries ask at each address: the one the node itself looks
   * peers up on. Default: ERL_EPMD_PORT, else 4369.
   */
  epmdPort?: number | undefined;
}

/**
 * The resolver the seed documents: looks up A and AAAA records (and SRV records, for
 * queries that start with `_`, resolving their targets to addresses) and connects
 * through `node`. Honours search domains like the system resolver does, so
 * Kubernetes short names (`my-app-headless`) work. For `names` queries it asks EPMD
 * at each address (NAMES_REQ, as `net_adm:names/1`).
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad `epmdPort`.
 */
export function defaultResolver(node: ResolverNode, options: DefaultResolverOptions = {}): Resolver {
  const epmdPort = options.epmdPort ?? (process.env.ERL_EPMD_PORT === undefined ? 4369 : Number(process.env.ERL_EPMD_PORT));
  if (!(Number.isInteger(epmdPort) && epmdPort >= 1 && epmdPort <= 0xffff)) {
    throw new InvalidOptionError(options.epmdPort === undefined ? 'ERL_EPMD_PORT' : 'epmdPort', 'an integer port from 1 to 65535', epmdPort);
  }
  const dns = new DnsResolver({ timeout: options.timeoutMs ?? 5000, tries: 2 });
  if (options.servers !== undefined) dns.setServers(options.servers);
  const conf = systemResolvConf();
  const search = options.searchDomains ?? conf.search;
  const ndots = options.ndots ?? conf.ndots;
  return {
    basename: basenameOf,
    async connectNode(name) {
      const result = await node.tryConnect(name);
      return result.ok ? { ok: true, node: name } : { ok: false, error: { type: 'FailedToConnect', reason: result.error } };
    },
    listNodes: () => node.nodes(),
    connectedNodes: () => node.nodes('connected'),
    lookup: (query) => lookupWithSearch(dns, query, search, ndots),
    disconnectNode: (name) => node.disconnect(name),
    names: async (address, timeoutMs) => (await epmdNames({ host: address, port: epmdPort, timeoutMs })).nodes.map((n) => n.name),
  };
}

/**
 * Tries the candidates the system resolver would, in its order: a name with fewer
 * dots than `ndots` goes through the search domains first, then as it is; other
 * names the other way round; a name ending in a dot only as it is. The first
 * candidate with addresses wins. If none has any and one of them failed (timeout,
 * SERVFAIL, refused), that failure is raised so the cluster logs it.
 */
async function lookupWithSearch(dns: DnsResolver, query: string, search: string[], ndots: number): Promise<string[]> {
  if (isIP(query) !== 0) return [query];
  let candidates: string[];
  if (query.endsWith('.')) candidates = [query.slice(0, -1)];
  else {
    const searched = search.map((d) => `${query}.${d}`);
    const dots = query.split('.').length - 1;
    candidates = dots < ndots ? [...searched, query] : [query, ...searched];
  }
  let failure: unknown;
  for (const name of candidates) {
    try {
      const found = await lookupName(dns, name);
      if (found.length > 0) return found;
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return [];
}

/** A and AAAA (or SRV then A and AAAA of each target). "No such name" is an empty answer; other failures reject. */
async function lookupName(dns: DnsResolver, name: string): Promise<string[]> {
  if (name.startsWith('_')) {
    const targets = await orEmpty(dns.resolveSrv(name));
    const each = await Promise.all(targets.map((t) => addresses(dns, t.name)));
    return unique(each.flat());
  }
  return addresses(dns, name);
}

async function addresses(dns: DnsResolver, name: string): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([orEmpty(dns.resolve4(name)), orEmpty(dns.resolve6(name))]);
  if (v4.status === 'rejected' && v6.status === 'rejected') throw v4.reason;
  return unique([...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])]);
}

const NO_ANSWER = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (err) {
    if (NO_ANSWER.has((err as NodeJS.ErrnoException).code ?? '')) return [];
    throw err;
  }
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function systemResolvConf(): { search: string[]; ndots: number } {
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolv.conf: no search domains
  }
  const lines = text.split('\n');
  const searchLine = [...lines].reverse().find((l) => /^\s*(search|domain)\s/.test(l));
  const ndots = /\bndots:(\d+)/.exec(lines.filter((l) => /^\s*options\s/.test(l)).join(' '));
  return { search: searchLine === undefined ? [] : searchLine.trim().split(/\s+/).slice(1), ndots: ndots === null ? 1 : Number(ndots[1]) };
}
