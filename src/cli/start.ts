/**
 * `nessie start`: the status server first (so /livez answers while the node starts),
 * then the node, then its DNS cluster; SIGTERM and SIGINT stop them in the reverse
 * order, after /readyz has turned 503.
 */
import type { Server } from 'node:http';
import { DnsCluster, DnsQuery } from '../cluster/dns-cluster.js';
import { defaultResolver } from '../cluster/resolver.js';
import { Node } from '../node/node.js';
import { startStatusServer, stopStatusServer } from './health.js';
import { explainListenError } from './listen-errors.js';
import { createCliLogger } from './log.js';
import { StartMonitor } from './monitor.js';
import type { StartConfig } from './start-config.js';
import { StartupError } from './startup-error.js';
import { readTlsFiles } from './tls-files.js';
import { packageVersion } from './version.js';

export async function runStart(config: StartConfig): Promise<void> {
  const log = createCliLogger(config.log);
  const queries = config.queries.flatMap((q) => (q.type === 'query' ? [q.basename === undefined ? q.query : `${q.basename}:${q.query}`] : []));
  const monitor = new StartMonitor(config.readiness, { version: packageVersion(), name: config.node.name, queries });

  let status: Server | undefined;
  if (config.status !== undefined) {
    const { host, port } = config.status;
    try {
      status = await startStatusServer(monitor, host, port);
    } catch (err) {
      throw StartupError.from(err, explainListenError(err, { addressFrom: '--status-host', portFlag: '--status-port' }));
    }
    log.info(`status on http://${host.includes(':') ? `[${host}]` : host}:${port} (/livez /readyz /status /metrics)`);
  }

  let node: Node;
  try {
    node = await Node.start({ ...config.node, logger: log.child({ component: 'node' }) });
  } catch (err) {
    if (status !== undefined) await stopStatusServer(status);
    throw StartupError.from(err, explainListenError(err, { addressFrom: 'name', portFlag: '--port' }));
  }
  const members = () => [node.name, ...node.nodes()].join(', ');
  node.on('nodeup', (peer, { hidden }) => log.info(`nodeup ${peer}; members: ${members()}`, { peer, hidden }));
  node.on('nodedown', (peer, reason, { hidden }) => log.info(`nodedown ${peer} (${reason}); members: ${members()}`, { peer, reason, hidden }));

  const clusterLog = log.child({ component: 'cluster' });
  let cluster = DnsCluster.new()
    .withQuery(config.queries.length > 0 ? config.queries : [DnsQuery.Ignore])
    .withInterval(config.interval)
    .withLogger(clusterLog)
    .withResolver(defaultResolver(node, config.dnsServers === undefined ? {} : { servers: config.dnsServers }));
  if (config.connectTimeout !== undefined) cluster = cluster.withConnectTimeout(config.connectTimeout);
  const handle = await cluster.start(node);
  handle.on('discovery', (e) => {
    // Structured for log pipelines; the cluster's own lines say the same in words.
    clusterLog.debug('discovery round', {
      found: e.found, connected: e.connected, failed: e.failed.map((f) => f.node), lookupErrors: e.lookupErrors.map((l) => l.query), durationMs: e.durationMs,
    });
  });
  monitor.attach(node, handle);
  log.info(
    queries.length === 0
      ? `${node.name} (name from ${config.nameSource}): no DNS query, not discovering`
      : `${node.name} (name from ${config.nameSource}): discovering through ${queries.join(', ')} every ${config.interval} ms`,
    { node: node.name, port: node.port, query: queries },
  );

  const tlsFiles = config.tlsFiles;
  if (tlsFiles !== undefined) {
    // cert-manager rewrote the files: new connections use them, live ones stay.
    process.on('SIGHUP', () => {
      try {
        node.reloadTls(readTlsFiles(tlsFiles));
        log.info('SIGHUP: TLS certificates reloaded');
      } catch (err) {
        log.error(`SIGHUP: TLS certificates not reloaded, the previous ones stay in use: ${(err as Error).message}`);
      }
    });
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    monitor.stopping();
    log.info(`stopping (${signal})`, { signal });
    try {
      await handle.stop();
      await node.stop();
      if (status !== undefined) await stopStatusServer(status);
    } catch (err) {
      log.error(`while stopping: ${(err as Error)?.message ?? String(err)}`);
    }
    process.exit(0);
  };
  // cannot reject: shutdown catches what stopping throws, then exits.
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // cannot reject: as above.
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
