// DnsCluster live: a real DNS server (dnsmasq) whose records the test changes, and a
// mixed cluster of TypeScript nodes and real erl nodes (OTP 25 and 27) on 127.0.0.x,
// EPMD-less. The erl nodes poll DNS themselves (inet_res + connect_node), as
// Elixir's DNSCluster would on the BEAM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { DnsCluster, DnsQuery, Node, defaultResolver, silentLogger } from '../../src/index.js';
import type { DnsClusterHandle, DiscoveryEvent } from '../../src/index.js';
import { Dnsmasq, requireDnsmasq } from '../support/dnsmasq.js';
import { ErlPeer, requireOtp } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'cluster-cookie';
const NAME = 'app.test';
const INTERVAL = 500;

/** An erl node that polls `NAME` at the test's dnsmasq and connects to app@ each address. */
async function erlMember(host: string, otp: 25 | 27, port: number, dnsPort: number): Promise<ErlPeer> {
  const peer = await ErlPeer.start({ name: `app@${host}`, cookie: COOKIE, otp, epmdless: { port } });
  await peer.eval(`spawn(fun Poll() ->
      Ips = inet_res:lookup("${NAME}", in, a, [{nameservers, [{{127,0,0,1}, ${dnsPort}}]}, {timeout, 500}]),
      [net_kernel:connect_node(list_to_atom("app@" ++ inet:ntoa(Ip))) || Ip <- Ips, Ip =/= ${'{' + host.replace(/\./g, ',') + '}'}],
      timer:sleep(${INTERVAL}), Poll() end), ok.`);
  return peer;
}

interface Member {
  node: Node;
  cluster: DnsClusterHandle;
  events: DiscoveryEvent[];
}

async function tsMember(host: string, port: number, dns: Dnsmasq, connectTimeout = 2000): Promise<Member> {
  const node = await Node.start({ name: `app@${host}`, cookie: COOKIE, epmd: false, port, connectTimeout, ticktime: 4, logger: silentLogger });
  const cluster = await DnsCluster.new()
    .withQuery(DnsQuery.query(NAME))
    .withInterval(INTERVAL)
    .withLogger(() => undefined)
    .withResolver(defaultResolver(node, { servers: [dns.server], timeoutMs: 500 }))
    .start(node);
  const events: DiscoveryEvent[] = [];
  cluster.on('discovery', (e) => events.push(e));
  return { node, cluster, events };
}

async function stopAll(members: Member[], peers: ErlPeer[], extra: Array<() => Promise<void>> = []): Promise<void> {
  for (const m of members) {
    await m.cluster.stop();
    await m.node.stop();
  }
  for (const p of peers) await p.stop();
  for (const f of extra) await f();
}

test('a mixed TS + OTP 25 + OTP 27 cluster forms a full mesh through DNS, takes in a new node, and reconnects a restarted one', { timeout: 120_000 }, async (t) => {
  if (!requireDnsmasq(t) || !requireOtp(t, 25) || !requireOtp(t, 27)) return;
  const tsHosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const erlHosts: Array<[string, 25 | 27]> = [['127.0.0.5', 25], ['127.0.0.6', 27]];
  const late = '127.0.0.7';
  const all = [...tsHosts, ...erlHosts.map(([h]) => h)];
  const port = await freeSharedPort([...all, late]);
  const dns = await Dnsmasq.start();
  const members: Member[] = [];
  const peers: ErlPeer[] = [];
  try {
    await dns.set(NAME, all);
    for (const [h, otp] of erlHosts) peers.push(await erlMember(h, otp, port, dns.port));
    for (const h of tsHosts) members.push(await tsMember(h, port, dns));
    const everyoneElse = (self: string) => all.filter((h) => h !== self).map((h) => `app@${h}`).sort();
    const meshed = await eventually(async () => {
      for (const m of members) if (m.node.nodes().sort().join() !== everyoneElse(m.node.name.slice(4)).join()) return false;
      for (const [i, p] of peers.entries()) {
        const seen = (await p.eval('lists:sort(nodes()).')).replace(/'/g, '');
        if (seen !== `[${everyoneElse(erlHosts[i][0]).join(',')}]`) return false;
      }
      return true;
    }, 20_000);
    assert.ok(meshed, `full mesh: ${members.map((m) => `${m.node.name}: ${m.node.nodes().join(' ')}`).join(' | ')}`);

    // A node added to DNS joins within one interval (plus a connect).
    const newcomer = await tsMember(late, port, dns);
    members.push(newcomer);
    await dns.set(NAME, [...all, late]);
    const addedAt = Date.now();
    assert.ok(await eventually(() => members.slice(0, 3).every((m) => m.node.nodes().includes(`app@${late}`)), 5000));
    const joinedIn = Date.now() - addedAt;
    assert.ok(joinedIn < INTERVAL + 2000, `joined in ${joinedIn} ms`);

    // A killed erl node is reconnected once it restarts.
    const [killedHost, killedOtp] = erlHosts[0];
    await peers[0].stop();
    assert.ok(await eventually(() => members.every((m) => !m.node.nodes().includes(`app@${killedHost}`)), 15_000), 'the TS nodes saw it go');
    peers[0] = await erlMember(killedHost, killedOtp, port, dns.port);
    assert.ok(await eventually(() => members.every((m) => m.node.nodes().includes(`app@${killedHost}`)), 10_000), 'reconnected after the restart');
  } finally {
    await stopAll(members, peers, [() => dns.remove()]);
  }
});

test('twenty addresses that accept TCP and never answer do not delay the others', { timeout: 60_000 }, async (t) => {
  if (!requireDnsmasq(t)) return;
  const hung = Array.from({ length: 20 }, (_, i) => `127.0.1.${i + 1}`);
  const real = ['127.0.0.2', '127.0.0.3'];
  const port = await freeSharedPort([...real, ...hung]);
  const dns = await Dnsmasq.start();
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const members: Member[] = [];
  try {
    for (const h of hung) {
      const s = createServer((sock) => sockets.add(sock)); // accept, never answer
      await new Promise<void>((r) => s.listen(port, h, () => r()));
      servers.push(s);
    }
    await dns.set(NAME, [...real, ...hung]);
    for (const h of real) members.push(await tsMember(h, port, dns, 1500));
    const connected = await eventually(() => members.every((m) => m.node.nodes().length === 1), 10_000);
    assert.ok(connected, 'the real nodes found each other');
    const round = await members[0].cluster.discoverNodes(10_000);
    assert.equal(round.errors.length, 20);
    const last = members[0].events.at(-1)!;
    assert.ok(last.durationMs < 1500 + 1000, `a round with 20 hung addresses took ${last.durationMs} ms (connect timeout 1500)`);
  } finally {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    await stopAll(members, [], [() => dns.remove()]);
  }
});

test('with the DNS server down the cluster logs and carries on, and resumes when it returns', { timeout: 60_000 }, async (t) => {
  if (!requireDnsmasq(t)) return;
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const port = await freeSharedPort(hosts);
  const dns = await Dnsmasq.start();
  const members: Member[] = [];
  let third: Node | undefined;
  try {
    await dns.set(NAME, hosts.slice(0, 2));
    for (const h of hosts.slice(0, 2)) members.push(await tsMember(h, port, dns));
    assert.ok(await eventually(() => members.every((m) => m.node.nodes().length === 1), 10_000));
    await dns.stop();
    const during = await members[0].cluster.discoverNodes(10_000);
    assert.deepEqual(during.nodes, ['app@127.0.0.3'], 'existing connections survive');
    assert.ok(members[0].events.at(-1)!.lookupErrors.length === 1, 'the failed lookup is reported');
    third = await Node.start({ name: 'app@127.0.0.4', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    await dns.restart();
    await dns.set(NAME, hosts);
    assert.ok(await eventually(() => members[0].node.nodes().includes('app@127.0.0.4'), 5000), 'discovery resumed');
  } finally {
    await third?.stop();
    await stopAll(members, [], [() => dns.remove()]);
  }
});

test('IPv6: a node named app@::1 is found through its AAAA record', { timeout: 30_000 }, async (t) => {
  if (!requireDnsmasq(t)) return;
  const dns = await Dnsmasq.start();
  const epmdPort = await freeSharedPort(['::1']);
  const a = await Node.start({ name: 'a@::1', cookie: COOKIE, epmd: { port: epmdPort }, logger: silentLogger });
  const b = await Node.start({ name: 'b@::1', cookie: COOKIE, epmd: { port: epmdPort }, logger: silentLogger });
  try {
    await dns.set('v6.test', ['::1']);
    const cluster = await DnsCluster.new()
      .withQuery(DnsQuery.query('v6.test', { basename: 'a' }))
      .withInterval(null)
      .withLogger(() => undefined)
      .withResolver(defaultResolver(b, { servers: [dns.server] }))
      .start(b);
    const { nodes } = await cluster.discoverNodes(5000);
    assert.deepEqual(nodes, ['a@::1']);
    assert.deepEqual(a.nodes(), ['b@::1']);
    assert.equal(await a.ping('b@::1'), 'pong');
    await cluster.stop();
  } finally {
    await b.stop();
    await a.stop();
    await dns.remove();
  }
});
