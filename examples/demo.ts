/**
 * `npm run demo`: a cluster that finds itself through DNS, on one machine.
 *
 * Starts an embedded DNS server and four TypeScript nodes on 127.0.0.2-5 (EPMD-less,
 * one shared port), each running a DnsCluster that polls `demo.nessie.test` every
 * second. When `erl` is installed, two real BEAM nodes on 127.0.0.6-7 join too.
 * It shows the membership converge to a full mesh, then takes one node out of DNS,
 * stops it, and shows the others notice. Everything it starts, it stops.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { DnsCluster, DnsQuery, Node, defaultResolver } from '../src/index.js';
import type { DnsClusterHandle } from '../src/index.js';
import { DemoDnsServer } from './demo/dns-server.js';

const QUERY = 'demo.nessie.test';
const TS_HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
const ERL_HOSTS = ['127.0.0.6', '127.0.0.7'];
const cookie = randomBytes(12).toString('hex');
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

function log(line: string): void {
  console.log(`[demo ${new Date().toISOString().slice(11, 23)}] ${line}`);
}

/** A port free on every demo address (EPMD-less nodes all listen on the same one). */
async function sharedFreePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const ok = await Promise.all(hosts.map((h) => canListen(h, port)));
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free port shared by the demo addresses');
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function erlAvailable(): boolean {
  return spawnSync('erl', ['-noshell', '-eval', 'halt().'], { timeout: 20000 }).status === 0;
}

function startErl(host: string, port: number): ChildProcess {
  return spawn('erl', [
    '-name', `demo@${host}`, '-setcookie', cookie, '-noshell',
    '-start_epmd', 'false', '-erl_epmd_port', String(port),
    '-kernel', 'inet_dist_use_interface', `{${host.replace(/\./g, ',')}}`,
  ], { stdio: 'ignore' });
}

function membership(nodes: Node[]): string {
  return nodes.map((n) => `${n.name.split('@')[1]} sees ${n.nodes().length}`).join(' | ');
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`gave up waiting for ${what}`);
  return false;
}

async function main(): Promise<void> {
  const withErl = erlAvailable();
  const hosts = withErl ? [...TS_HOSTS, ...ERL_HOSTS] : TS_HOSTS;
  const port = await sharedFreePort(hosts);
  const dns = await DemoDnsServer.start('127.0.0.1', 0);
  dns.records.set(QUERY, [...hosts]);
  log(`DNS server on ${dns.server}: ${QUERY} -> ${hosts.join(', ')}`);
  const erls = withErl ? ERL_HOSTS.map((h) => startErl(h, port)) : [];
  log(withErl ? `started BEAM nodes demo@${ERL_HOSTS.join(', demo@')}` : 'erl not installed: TypeScript nodes only');

  const nodes: Node[] = [];
  const clusters: DnsClusterHandle[] = [];
  try {
    for (const host of TS_HOSTS) {
      const node = await Node.start({ name: `demo@${host}`, cookie, epmd: false, port, ticktime: 4, logger: quietLogger });
      node.on('nodeup', (peer) => log(`${node.name}: nodeup ${peer}`));
      node.on('nodedown', (peer, reason) => log(`${node.name}: nodedown ${peer} (${reason})`));
      const cluster = await DnsCluster.new()
        .withQuery(DnsQuery.query(QUERY))
        .withInterval(1000)
        .withConnectTimeout(2000)
        .withLogger(() => undefined)
        .withResolver(defaultResolver(node, { servers: [dns.server] }))
        .start(node);
      nodes.push(node);
      clusters.push(cluster);
    }
    const everyone = hosts.length - 1;
    const meshed = await until('a full mesh', () => nodes.every((n) => n.nodes().length === everyone), 30000);
    log(`${meshed ? 'full mesh' : 'no full mesh'}: ${membership(nodes)}`);

    const leaving = nodes[0];
    log(`taking ${leaving.name} out of DNS and stopping it`);
    dns.records.set(QUERY, hosts.filter((h) => h !== TS_HOSTS[0]));
    await clusters[0].stop();
    await leaving.stop();
    const rest = nodes.slice(1);
    const noticed = await until('the others to notice', () => rest.every((n) => !n.nodes().includes(leaving.name)), 15000);
    log(`${noticed ? 'the others noticed' : 'not noticed'}: ${membership(rest)}`);
    process.exitCode = meshed && noticed ? 0 : 1;
  } finally {
    log('stopping everything');
    for (const c of clusters) await c.stop();
    for (const n of nodes) {
      n.removeAllListeners();
      await n.stop();
    }
    for (const e of erls) e.kill('SIGKILL');
    await dns.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
