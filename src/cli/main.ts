#!/usr/bin/env node
/**
 * The `nessie` command: `nessie start` runs a node that joins a cluster found through
 * DNS; `nessie epmd` runs the embedded EPMD on its own. `nessie --help` documents both.
 */
import { parseArgs } from 'node:util';
import { DnsCluster, DnsQuery, type LoggerLevel } from '../cluster/dns-cluster.js';
import { defaultResolver } from '../cluster/resolver.js';
import { EpmdServer } from '../epmd/server.js';
import { NessieError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Node } from '../node/node.js';
import { startStatusServer } from './health.js';

const HELP = `nessie: join Erlang, Elixir and Gleam clusters from Node.js

Usage:
  nessie start --name BASENAME@IP [options]   run a node that joins the cluster DNS describes
  nessie epmd [--address A] [--port P]        run an EPMD bound to one address
  nessie --help                               this text

nessie start options:
  --name NAME              node name, basename@host (host: an IP for DNS clustering)      (required)
  --cookie C               cookie (default: NESSIE_COOKIE, RELEASE_COOKIE, ~/.erlang.cookie)
  --query NAME             DNS name whose A/AAAA (or SRV, if it starts with _) records list peers;
                           repeatable; BASENAME:NAME gives those peers another basename
  --interval MS            poll interval (default 5000)
  --connect-timeout MS     per-connect timeout (default 7000)
  --ticktime S             net_ticktime in seconds (default 60)
  --dns-server HOST:PORT   ask this DNS server (repeatable; default: the system's)
  --no-epmd --port P       EPMD-less: listen on P and assume every peer does too
  --port P                 distribution port (default: any)
  --hidden                 a hidden node
  --status-port P          serve GET /healthz and GET /status on P
  --status-host H          address for the status server (default: the node's address)
  --verbose                log debug lines too

nessie epmd options:
  --address A              address to bind (default 0.0.0.0)
  --port P                 port (default 4369, or ERL_EPMD_PORT)
`;

function logger(verbose: boolean): Logger {
  const line = (level: string) => (m: string) => console.log(`[nessie][${level}] ${m}`);
  return { debug: verbose ? line('DEBUG') : () => undefined, info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      cookie: { type: 'string' },
      query: { type: 'string', multiple: true },
      interval: { type: 'string' },
      'connect-timeout': { type: 'string' },
      ticktime: { type: 'string' },
      'dns-server': { type: 'string', multiple: true },
      'no-epmd': { type: 'boolean' },
      port: { type: 'string' },
      hidden: { type: 'boolean' },
      'status-port': { type: 'string' },
      'status-host': { type: 'string' },
      verbose: { type: 'boolean' },
    },
  });
  if (values.name === undefined) throw new UsageError('--name is required');
  const log = logger(values.verbose ?? false);
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${flag} needs a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const node = await Node.start({
    name: values.name,
    cookie: values.cookie,
    epmd: values['no-epmd'] ? false : true,
    port: num('port', values.port),
    hidden: values.hidden,
    ticktime: num('ticktime', values.ticktime),
    connectTimeout: num('connect-timeout', values['connect-timeout']),
    logger: log,
  });
  node.on('nodeup', (n) => log.info(`nodeup ${n}; members: ${[node.name, ...node.nodes()].join(', ')}`));
  node.on('nodedown', (n, reason) => log.info(`nodedown ${n} (${reason}); members: ${[node.name, ...node.nodes()].join(', ')}`));
  const queries = (values.query ?? []).map((q) => {
    const i = q.indexOf(':');
    // BASENAME:NAME, but not an IPv6 literal or a name with a port-like suffix.
    return i > 0 && /^[A-Za-z0-9_-]+$/.test(q.slice(0, i)) ? DnsQuery.query(q.slice(i + 1), { basename: q.slice(0, i) }) : DnsQuery.query(q);
  });
  const interval = num('interval', values.interval);
  let cluster = DnsCluster.new()
    .withQuery(queries.length > 0 ? queries : [DnsQuery.Ignore])
    .withInterval(interval ?? 5000)
    .withLogger((level: LoggerLevel, m: string) => log[level](m))
    .withResolver(defaultResolver(node, { servers: values['dns-server'] }));
  const connectTimeout = num('connect-timeout', values['connect-timeout']);
  if (connectTimeout !== undefined) cluster = cluster.withConnectTimeout(connectTimeout);
  const handle = await cluster.start(node);
  let status: import('node:http').Server | undefined;
  const statusPort = num('status-port', values['status-port']);
  if (statusPort !== undefined) {
    const host = values['status-host'] ?? node.name.slice(node.name.indexOf('@') + 1);
    status = await startStatusServer(node, handle, host, statusPort);
    log.info(`status on http://${host.includes(':') ? `[${host}]` : host}:${statusPort}/status`);
  }
  const shutdown = async () => {
    log.info('stopping');
    status?.close();
    await handle.stop();
    await node.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

async function epmd(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { address: { type: 'string' }, port: { type: 'string' }, verbose: { type: 'boolean' } } });
  const port = Number(values.port ?? process.env.ERL_EPMD_PORT ?? 4369);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port needs a port number, got ${values.port}`);
  const server = await EpmdServer.start({ address: values.address ?? '0.0.0.0', port, logger: logger(values.verbose ?? false) });
  console.log(`[nessie][INFO] epmd listening on ${values.address ?? '0.0.0.0'}:${server.port}`);
  const shutdown = async () => {
    await server.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'start') return start(rest);
  if (command === 'epmd') return epmd(rest);
  throw new UsageError(`unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || (err instanceof Error && 'code' in err && (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')) {
    console.error(`nessie: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  console.error(`nessie: ${err instanceof NessieError ? `${err.message} (${err.code})` : (err as Error).stack ?? String(err)}`);
  process.exit(1);
});
