// The nessie command as a process: --help and --version, command lines refused with
// their fix and no stack trace, listen failures said in a sentence, and live runs on
// loopback queried over HTTP: /livez, /readyz (/healthz), /status, /metrics, HEAD,
// readiness rules, the environment an Elixir release sets, JSON logs. Every CLI
// started here is stopped by its PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { names } from '../../src/epmd/client.js';
import { Node, silentLogger } from '../../src/index.js';
import { Dnsmasq, requireDnsmasq } from '../support/dnsmasq.js';
import { eventually, freePort, freeSharedPort, loopbackAddresses } from '../support/ports.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const STACK_LINE = /^\s+at /m;

// The child sees no cookie, node name or query from the shell that runs the tests.
function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(RELEASE_|NESSIE_|DNS_CLUSTER_QUERY$|POD_IP$|FLY_PRIVATE_IP$)/.test(k)));
  return { ...env, ...extra };
}

function nessie(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 30_000, env: childEnv(env) }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

/** A running `nessie start`, its output collected. */
class Cli {
  output = '';
  readonly exited: Promise<number | null>;
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d) => (this.output += d));
    child.stderr?.on('data', (d) => (this.output += d));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
    return Cli.run(['start', ...args], env);
  }

  static run(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
    return new Cli(spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) }));
  }

  /** SIGTERM by PID, then SIGKILL if it has not exited 5 s later; resolves to the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid!, 'SIGTERM');
    const code = await Promise.race([this.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 5000))]);
    if (code !== 'late') return code;
    process.kill(this.child.pid!, 'SIGKILL');
    return this.exited;
  }
}

async function get(url: string, method = 'GET'): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url, { method });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

const answers = (url: string) => get(url).then(() => true, () => false);

/** The value of one series in a Prometheus text page. */
function metric(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line !== undefined, `no ${series} in\n${page}`);
  return Number(line.slice(series.length + 1));
}

function holdPort(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port, exclusive: true }, () => resolve(s));
  });
}

test('--help, --version and start --help', async () => {
  const help = await nessie(['--help']);
  assert.equal(help.code, 0);
  for (const word of ['nessie start', 'nessie epmd', '--version']) assert.ok(help.stdout.includes(word), word);
  const version = await nessie(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `${VERSION}\n`);
  const start = await nessie(['start', '--help']);
  assert.equal(start.code, 0);
  for (const word of ['--query', '--status-port', '--no-epmd', '--dns-server', '--ready-min-peers', '--log-format', 'RELEASE_NODE', 'DNS_CLUSTER_QUERY', 'POD_IP']) {
    assert.ok(start.stdout.includes(word), word);
  }
  assert.match((await nessie(['epmd', '--help'])).stdout, /--address/);
});

test('bad command lines are refused with the fix and no stack trace, before anything starts', async () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['start'], {}, /no node name: pass --name BASENAME@IP, or set RELEASE_NODE/],
    [['start', '--nme', 'x'], {}, /unknown option --nme \(did you mean --name\?\)/],
    [['start', '--name', 'no-at-sign', '--cookie', 'c'], {}, /--name=no-at-sign has no host part: use no-at-sign@IP, or set POD_IP/],
    [['start'], { RELEASE_NODE: 'app', RELEASE_COOKIE: 'c' }, /RELEASE_NODE=app has no host part/],
    [['start', '--name', 'a@127.0.0.1', '--cookie', 'c', '--interval', 'soon'], {}, /--interval needs a number of ms/],
    [['start', '--name', 'a@127.0.0.1', '--cookie', 'c', '--status-port', '4000', '--log-level', 'loud'], {}, /--log-level needs one of/],
    [['epmd', '--address', 'everywhere'], {}, /--address needs an IP address/],
    [['frobnicate'], {}, /unknown command "frobnicate"/],
  ];
  for (const [args, env, message] of cases) {
    const r = await nessie(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /run `nessie (start |epmd )?--help` for the options/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
    assert.equal(r.stdout, '', 'nothing started, so nothing logged');
  }
});

test('a name whose IP is not on this host, and ports in use, are said in a sentence', async () => {
  const [host] = loopbackAddresses(1);
  const port = await freeSharedPort([host]);
  // 198.51.100.0/24 is TEST-NET-2 (RFC 5737): never an address of this host. Binding it fails locally; nothing is sent.
  const foreign = await nessie(['start', '--name', 'app@198.51.100.7', '--cookie', 'c', '--no-epmd', '--port', String(port)]);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /the name's IP 198\.51\.100\.7 is not an address of this host \(its addresses: .*127\.0\.0\.1/);
  assert.doesNotMatch(foreign.stderr, STACK_LINE);

  const held = await holdPort(host, port);
  try {
    const inUse = await nessie(['start', '--name', `app@${host}`, '--cookie', 'c', '--no-epmd', '--port', String(port)]);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, new RegExp(`port ${port} on ${host.replace(/\./g, '\\.')} is already in use: pick another --port`));
    assert.doesNotMatch(inUse.stderr, STACK_LINE);
    const statusInUse = await nessie(['start', '--name', `app@${host}`, '--cookie', 'c', '--no-epmd', '--port', String(await freePort(host)), '--status-port', String(port)]);
    assert.equal(statusInUse.code, 1);
    assert.match(statusInUse.stderr, /is already in use: pick another --status-port/);
    assert.doesNotMatch(statusInUse.stderr, STACK_LINE);
  } finally {
    await new Promise((r) => held.close(r));
  }
});

test('nessie epmd serves a nessie start that registers with it; a second one on the same port is refused in a sentence', { timeout: 60_000 }, async () => {
  const [host] = loopbackAddresses(1);
  const epmdPort = await freePort(host);
  const epmd = Cli.run(['epmd', '--address', host, '--port', String(epmdPort)]);
  let node: Cli | undefined;
  try {
    assert.ok(await eventually(() => epmd.output.includes('epmd listening'), 20_000), epmd.output);
    node = Cli.start(['--name', `reg@${host}`, '--cookie', 'c'], { ERL_EPMD_PORT: String(epmdPort) });
    const registered = async () => (await names({ host, port: epmdPort }).catch(() => ({ nodes: [] }))).nodes.some((n) => n.name === 'reg');
    assert.ok(await eventually(registered, 20_000), `${epmd.output}\n${node.output}`);
    const again = await nessie(['epmd', '--address', host, '--port', String(epmdPort)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`port ${epmdPort} on ${host.replace(/\./g, '\\.')} is already in use: pick another --port`));
    assert.doesNotMatch(again.stderr, STACK_LINE);
  } finally {
    if (node !== undefined) assert.equal(await node.stop(), 0, node.output);
    assert.equal(await epmd.stop(), 0, epmd.output);
  }
});

test('without a query the node is ready once started; GET and HEAD only; JSON log lines', { timeout: 60_000 }, async () => {
  const [host] = loopbackAddresses(1);
  const [port, statusPort] = [await freePort(host), await freePort(host)];
  const cli = Cli.start(['--name', `solo@${host}`, '--cookie', 'solo-cookie', '--no-epmd', '--port', String(port), '--status-port', String(statusPort),
    '--log-format', 'json', '--log-level', 'debug']);
  try {
    const base = `http://${host}:${statusPort}`;
    assert.ok(await eventually(async () => (await get(`${base}/readyz`).catch(() => ({ status: 0 }))).status === 200, 20_000), cli.output);
    assert.equal((await get(`${base}/livez`)).status, 200);
    const ready = await get(`${base}/readyz`);
    assert.match(ready.body, /^ready: started; no DNS query/);
    const healthz = await get(`${base}/healthz`);
    assert.deepEqual([healthz.status, healthz.body], [ready.status, ready.body]);
    const head = await get(`${base}/readyz`, 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
    assert.equal((await get(`${base}/metrics`, 'HEAD')).status, 200);
    const post = await get(`${base}/readyz`, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal((await get(`${base}/nothing`)).status, 404);
    const status = JSON.parse((await get(`${base}/status`)).body) as { name: string; ready: boolean; phase: string; lastDiscovery: unknown };
    assert.deepEqual([status.name, status.ready, status.phase, status.lastDiscovery], [`solo@${host}`, true, 'running', null]);
  } finally {
    assert.equal(await cli.stop(), 0, cli.output);
  }
  const lines = cli.output.trim().split('\n').map((l) => JSON.parse(l) as { time: string; level: string; msg: string; component?: string });
  for (const l of lines) {
    assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(l.level), l.level);
  }
  assert.ok(lines.some((l) => l.component === 'cluster' && /Ignore/.test(l.msg)), 'the cluster logs through the same JSON logger');
  assert.ok(lines.some((l) => l.msg === 'stopping (SIGTERM)'));
  assert.ok(!cli.output.includes('solo-cookie'), 'the cookie is never logged');
});

test('--ready-lookup: a failing DNS lookup keeps /readyz at 503 with the reason; /status and /metrics say so', { timeout: 60_000 }, async () => {
  const [host] = loopbackAddresses(1);
  const [port, statusPort, deadDns] = [await freePort(host), await freePort(host), await freePort('127.0.0.1')];
  // Nothing listens on deadDns: every lookup is refused at once.
  const cli = Cli.start(['--name', `look@${host}`, '--cookie', 'c', '--no-epmd', '--port', String(port), '--status-port', String(statusPort),
    '--query', 'peers.test', '--dns-server', `127.0.0.1:${deadDns}`, '--interval', '200', '--ready-lookup', '--log-level', 'warn']);
  try {
    const base = `http://${host}:${statusPort}`;
    const ran = async () => (JSON.parse((await get(`${base}/status`)).body) as { hasRan: boolean }).hasRan;
    assert.ok(await eventually(() => ran().catch(() => false), 20_000), cli.output);
    const ready = await get(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(ready.body, /^not ready: waiting for a successful DNS lookup: 0 nodes connected; the last DNS lookup failed \(peers\.test: .+\)/);
    const status = JSON.parse((await get(`${base}/status`)).body) as { ready: boolean; readyReason: string; lastDiscovery: { lookupErrors: Array<{ query: string; error: string }> } };
    assert.equal(status.ready, false);
    assert.equal(status.lastDiscovery.lookupErrors[0].query, 'peers.test');
    assert.match(status.lastDiscovery.lookupErrors[0].error, /ECONNREFUSED/);
    const page = (await get(`${base}/metrics`)).body;
    assert.ok(metric(page, 'nessie_dns_lookup_failures_total{query="peers.test"}') >= 1);
    assert.equal(metric(page, 'nessie_ready'), 0);
    assert.equal(metric(page, 'nessie_discovery_round_duration_seconds_count'), metric(page, 'nessie_discovery_rounds_total'));
    // The text format: comments, or `name{label="value",...} number`.
    for (const line of page.trimEnd().split('\n')) {
      assert.match(line, /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? [-+]?(\d+(\.\d+)?(e[-+]?\d+)?|\+Inf|NaN))$/, line);
    }
    // --log-level warn: the cluster's lookup errors are there, info lines are not; each line is timestamped text.
    assert.match(cli.output, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[nessie_cluster\]\[ERROR\] DNS lookup of peers\.test failed/m);
    assert.doesNotMatch(cli.output, /\[INFO\]/);
  } finally {
    assert.equal(await cli.stop(), 0, cli.output);
  }
});

test('configured by the environment of an Elixir release, nessie start joins the cluster DNS lists; readiness follows its peers', { timeout: 90_000 }, async (t) => {
  if (!requireDnsmasq(t)) return;
  const [self, peerHost, nobody] = loopbackAddresses(3);
  const port = await freeSharedPort([self, peerHost, nobody]);
  const statusPort = await freePort(self);
  const dns = await Dnsmasq.start();
  let peer: Node | undefined;
  // `nobody` is listed in DNS, but no node runs there: its connects fail.
  await dns.set('cli.test', [self, nobody]);
  const cli = Cli.start(['--dns-server', dns.server, '--no-epmd', '--port', String(port), '--interval', '300', '--status-port', String(statusPort),
    '--ready-min-peers', '1', '--log-format', 'json'], { RELEASE_NODE: 'app', POD_IP: self, RELEASE_COOKIE: 'release-cookie', DNS_CLUSTER_QUERY: 'cli.test' });
  try {
    const base = `http://${self}:${statusPort}`;
    type Status = { name: string; nodes: string[]; hasRan: boolean; lastDiscovery: { found: string[]; failed: Array<{ node: string; error: string; reason: string }> } };
    const status = async () => JSON.parse((await get(`${base}/status`)).body) as Status;
    assert.ok(await eventually(async () => (await status().catch(() => undefined))?.hasRan === true, 20_000), cli.output);
    const first = await status();
    assert.equal(first.name, `app@${self}`, 'RELEASE_NODE=app with POD_IP');
    assert.deepEqual(first.lastDiscovery.found, [`app@${nobody}`]);
    assert.equal(first.lastDiscovery.failed[0].node, `app@${nobody}`);
    assert.equal(first.lastDiscovery.failed[0].error, 'FailedToConnect');
    assert.match(first.lastDiscovery.failed[0].reason, /ECONNREFUSED|refused/i);
    const waiting = await get(`${base}/readyz`);
    assert.equal(waiting.status, 503);
    assert.match(waiting.body, /waiting for at least 1 connected: 0 nodes connected/);

    // RELEASE_COOKIE is the cookie: a peer with it is let in.
    peer = await Node.start({ name: `app@${peerHost}`, cookie: 'release-cookie', epmd: false, port, logger: silentLogger });
    await dns.set('cli.test', [self, peerHost, nobody]);
    assert.ok(await eventually(async () => (await get(`${base}/readyz`)).status === 200, 20_000), cli.output);
    assert.ok(peer.nodes().includes(`app@${self}`), 'the CLI node connected to the peer');
    const page = (await get(`${base}/metrics`)).body;
    assert.equal(metric(page, 'nessie_connected_nodes{type="visible"}'), 1);
    assert.ok(metric(page, 'nessie_node_up_total{type="visible"}') >= 1);
    assert.ok(metric(page, 'nessie_connect_failures_total') >= 1);
    assert.ok(metric(page, 'nessie_discovery_rounds_total') >= 2);
    assert.match(page, /^nessie_info\{version="[^"]+",node="app@[^"]+"\} 1$/m);

    // The peer goes: counted down, and /readyz turns 503 again.
    await peer.stop();
    peer = undefined;
    assert.ok(await eventually(async () => metric((await get(`${base}/metrics`)).body, 'nessie_node_down_total{type="visible"}') >= 1, 20_000), cli.output);
    assert.ok(await eventually(async () => (await get(`${base}/readyz`)).status === 503, 20_000));

    const lines = cli.output.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; peer?: string });
    assert.ok(lines.some((l) => l.msg.startsWith('nodeup') && l.peer === `app@${peerHost}`), 'nodeup carries the peer as a field');
    assert.ok(!cli.output.includes('release-cookie'), 'the cookie is never logged');
  } finally {
    assert.equal(await cli.stop(), 0, cli.output);
    await peer?.stop();
    await dns.remove();
  }
});
