/**
 * `nessie start`'s configuration: its flags over the environment an Elixir release
 * runs with (RELEASE_NODE, RELEASE_COOKIE, RELEASE_DISTRIBUTION, DNS_CLUSTER_QUERY,
 * and POD_IP or FLY_PRIVATE_IP for the host of a bare name), checked as a whole
 * before anything starts, so a bad value is refused with its fix and nothing to undo.
 */
import { Resolver } from 'node:dns';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { DnsQuery } from '../cluster/dns-cluster.js';
import { NessieError } from '../errors.js';
import { silentLogger, type LogLevel } from '../logger.js';
import { parseNodeName } from '../node/node-name.js';
import { resolveNodeOptions, type NodeOptions } from '../node/options.js';
import { argsError, integerOption } from './args.js';
import type { LogFormat } from './log.js';
import type { ReadinessRule } from './readiness.js';
import { readTlsFiles, tlsFilesFromFlags, type TlsFiles } from './tls-files.js';
import { UsageError } from './usage.js';

export interface StartConfig {
  /** The node's options, less the logger. */
  node: Omit<NodeOptions, 'logger'> & { name: string };
  /** Where the name came from: `--name` or `RELEASE_NODE` (for the start line). */
  nameSource: string;
  queries: DnsQuery[];
  interval: number;
  connectTimeout: number | undefined;
  dnsServers: string[] | undefined;
  status: { host: string; port: number } | undefined;
  readiness: ReadinessRule;
  log: { level: LogLevel; format: LogFormat };
  /** The --tls-* files, read again on SIGHUP. */
  tlsFiles: TlsFiles | undefined;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  cookie: { type: 'string' },
  query: { type: 'string', multiple: true },
  interval: { type: 'string' },
  'connect-timeout': { type: 'string' },
  ticktime: { type: 'string' },
  'busy-wait': { type: 'string' },
  'dns-server': { type: 'string', multiple: true },
  'no-epmd': { type: 'boolean' },
  port: { type: 'string' },
  hidden: { type: 'boolean' },
  'status-port': { type: 'string' },
  'status-host': { type: 'string' },
  'ready-min-peers': { type: 'string' },
  'ready-lookup': { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  verbose: { type: 'boolean' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-verify': { type: 'string' },
} as const;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];
const DAY_MS = 24 * 60 * 60 * 1000;

/** `'help'` when --help was asked for; else the checked configuration. @throws UsageError */
export function readStartConfig(argv: string[], env: NodeJS.ProcessEnv): StartConfig | 'help' {
  let v;
  try {
    v = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw argsError(err, Object.keys(OPTIONS), 'start');
  }
  if (v.help) return 'help';
  const refuse = (message: string): never => {
    throw new UsageError(message, 'start');
  };

  const distribution = env.RELEASE_DISTRIBUTION === undefined || env.RELEASE_DISTRIBUTION === '' ? 'name' : env.RELEASE_DISTRIBUTION;
  if (distribution === 'none') refuse('RELEASE_DISTRIBUTION=none: a node without distribution cannot join a cluster; set RELEASE_DISTRIBUTION=name (or unset it)');
  if (distribution !== 'name' && distribution !== 'sname') refuse(`RELEASE_DISTRIBUTION must be name, sname or none, got ${JSON.stringify(distribution)}`);

  const { name, nameSource } = nodeName(v.name, env, distribution === 'sname', refuse);
  const queries = readQueries(v.query, env, refuse);
  if (distribution === 'sname' && queries.length > 0) {
    refuse('DNS discovery finds peers as basename@IP, which needs long names: set RELEASE_DISTRIBUTION=name (or unset it) and give the node an IP host');
  }

  const port = integerOption('--port', v.port, 0, 65535, 'a port', 'start');
  if (v['no-epmd'] && (port === undefined || port === 0)) refuse('--no-epmd needs --port P: without EPMD every node listens on the same known port');
  const ticktime = integerOption('--ticktime', v.ticktime, 1, 3600, 'a number of seconds', 'start');
  const busyWait = integerOption('--busy-wait', v['busy-wait'], 0, 10_000, 'a number of µs', 'start');
  const connectTimeout = integerOption('--connect-timeout', v['connect-timeout'], 1, DAY_MS, 'a number of ms', 'start');
  const interval = integerOption('--interval', v.interval, 1, DAY_MS, 'a number of ms', 'start') ?? 5000;

  const dnsServers = v['dns-server'];
  if (dnsServers !== undefined) {
    try {
      new Resolver().setServers(dnsServers);
    } catch {
      refuse(`--dns-server needs IP or IP:PORT ([IPv6]:PORT), got ${dnsServers.map((s) => JSON.stringify(s)).join(', ')}`);
    }
  }

  const statusPort = integerOption('--status-port', v['status-port'], 1, 65535, 'a port', 'start');
  const statusHost = v['status-host'];
  if (statusHost !== undefined && isIP(statusHost) === 0) refuse(`--status-host needs an IP address, got ${JSON.stringify(statusHost)}`);
  if (statusHost !== undefined && statusPort === undefined) refuse('--status-host needs --status-port P too');
  const minPeers = integerOption('--ready-min-peers', v['ready-min-peers'], 0, 100_000, 'a number of nodes', 'start');
  if ((minPeers !== undefined || v['ready-lookup']) && statusPort === undefined) {
    refuse('--ready-min-peers and --ready-lookup set what /readyz answers: add --status-port P');
  }

  const level = v['log-level'] ?? (v.verbose ? 'debug' : 'info');
  if (!LOG_LEVELS.includes(level as LogLevel)) refuse(`--log-level needs one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const format = v['log-format'] ?? 'text';
  if (!LOG_FORMATS.includes(format as LogFormat)) refuse(`--log-format needs text or json, got ${JSON.stringify(format)}`);

  let tlsFiles: TlsFiles | undefined;
  let tls: NodeOptions['tls'];
  try {
    tlsFiles = tlsFilesFromFlags(v);
    tls = tlsFiles === undefined ? undefined : readTlsFiles(tlsFiles);
  } catch (err) {
    refuse((err as Error).message);
  }

  const node: StartConfig['node'] = {
    name,
    ...(tls === undefined ? {} : { tls }),
    epmd: !v['no-epmd'],
    ...(v.cookie === undefined ? {} : { cookie: v.cookie }),
    ...(port === undefined ? {} : { port }),
    ...(v.hidden ? { hidden: true } : {}),
    ...(ticktime === undefined ? {} : { ticktime }),
    ...(connectTimeout === undefined ? {} : { connectTimeout }),
    ...(busyWait === undefined ? {} : { busyWait }),
  };
  // The node's own checks (the cookie's source among them), now rather than after the status server is up.
  try {
    resolveNodeOptions({ ...node, logger: silentLogger }, env);
  } catch (err) {
    if (err instanceof NessieError) refuse(err.message);
    throw err;
  }

  const nameHost = parseNodeName(name).host;
  return {
    node,
    nameSource,
    queries,
    interval,
    connectTimeout,
    dnsServers,
    status: statusPort === undefined ? undefined : { host: statusHost ?? (isIP(nameHost) === 0 ? '0.0.0.0' : nameHost), port: statusPort },
    readiness: { ...(minPeers === undefined ? {} : { minPeers }), lookup: v['ready-lookup'] ?? false },
    log: { level: level as LogLevel, format: format as LogFormat },
    tlsFiles,
  };
}

/**
 * The node name: --name, else RELEASE_NODE. A bare basename gets its host the way
 * release scripts give it: POD_IP (Kubernetes' downward API), else FLY_PRIVATE_IP;
 * with short names, this host's name up to the first dot, as `erl -sname` does.
 */
function nodeName(flag: string | undefined, env: NodeJS.ProcessEnv, short: boolean, refuse: (m: string) => never): { name: string; nameSource: string } {
  const nameSource = flag !== undefined ? '--name' : 'RELEASE_NODE';
  const given = flag ?? (env.RELEASE_NODE === '' ? undefined : env.RELEASE_NODE);
  if (given === undefined) return refuse('no node name: pass --name BASENAME@IP, or set RELEASE_NODE (a bare basename takes its host from POD_IP or FLY_PRIVATE_IP)');
  let name = given;
  if (!given.includes('@')) {
    if (short) {
      name = `${given}@${hostname().split('.')[0]}`;
    } else {
      const [variable, ip] = env.POD_IP ? ['POD_IP', env.POD_IP] : env.FLY_PRIVATE_IP ? ['FLY_PRIVATE_IP', env.FLY_PRIVATE_IP] : [undefined, undefined];
      if (variable === undefined || ip === undefined) {
        return refuse(`${nameSource}=${given} has no host part: use ${given}@IP, or set POD_IP (or FLY_PRIVATE_IP) to this host's address`);
      }
      if (isIP(ip) === 0) return refuse(`${variable} must be an IP address, got ${JSON.stringify(ip)}`);
      name = `${given}@${ip}`;
    }
  }
  try {
    parseNodeName(name, nameSource);
  } catch (err) {
    if (err instanceof NessieError) refuse(err.message);
    throw err;
  }
  return { name, nameSource };
}

/**
 * --query flags, else DNS_CLUSTER_QUERY (names separated by commas or blanks, as one
 * variable has to carry several), each read by DnsQuery.parse: BASENAME:NAME gives a
 * query its own basename, PREFIX*:NAME finds basenames through EPMD.
 */
function readQueries(flags: string[] | undefined, env: NodeJS.ProcessEnv, refuse: (m: string) => never): DnsQuery[] {
  const source = flags !== undefined ? '--query' : 'DNS_CLUSTER_QUERY';
  const raw = flags ?? (env.DNS_CLUSTER_QUERY ?? '').split(/[\s,]+/).filter((q) => q !== '');
  return raw.map((q) => {
    if (/\s/.test(q)) refuse(`${source} needs a DNS name (or BASENAME:NAME, PREFIX*:NAME), got ${JSON.stringify(q)}`);
    try {
      return DnsQuery.parse(q);
    } catch {
      return refuse(`${source} needs a DNS name (or BASENAME:NAME, PREFIX*:NAME), got ${JSON.stringify(q)}`);
    }
  });
}
