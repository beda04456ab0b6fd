// DnsCluster with an injected resolver and the timer switched off: the seed's own
// cases and DNSCluster's, counting lookups and connects (nessie's call counter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsCluster, DnsQuery, discoverNodes, hasRan, startSpec, stop } from '../../src/cluster/dns-cluster.js';
import type { DiscoveryEvent } from '../../src/cluster/handle.js';
import type { Resolver } from '../../src/cluster/resolver.js';
import { InvalidOptionError, NotRunningError, TimeoutError } from '../../src/errors.js';
import { fakeNode, fakeResolver } from './fakes.js';

const quiet = () => undefined;

test('the seed defaults: name nessie_cluster, query Ignore, interval 5000', () => {
  const o = DnsCluster.new().build();
  assert.equal(o.name, 'nessie_cluster');
  assert.deepEqual(o.queries, [DnsQuery.Ignore]);
  assert.equal(o.interval, 5000);
  assert.equal(o.resolver, undefined);
});

test('builders are immutable', () => {
  const a = DnsCluster.new();
  const b = a.withQuery(DnsQuery.query('app.internal')).withInterval(null);
  assert.deepEqual(a.build().queries, [DnsQuery.Ignore]);
  assert.deepEqual(b.build().queries, [DnsQuery.query('app.internal')]);
  assert.equal(b.build().interval, null);
});

test('connects to valid hosts and surfaces connect errors (seed)', async () => {
  const { resolver, calls } = fakeResolver({ 'app.internal': ['10.0.0.1', '10.0.0.2', '10.0.0.3'] }, new Set(['app@10.0.0.2']));
  const handle = await DnsCluster.new().withQuery(DnsQuery.query('app.internal')).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  const result = await handle.discoverNodes(1000);
  assert.deepEqual(result.nodes, ['app@10.0.0.2']);
  assert.deepEqual(result.errors, [{ node: 'app@10.0.0.3', error: { type: 'FailedToConnect' } }]);
  assert.ok(!calls.connects.includes('app@10.0.0.1'), 'never connects to itself');
  await handle.stop();
});

test('has_ran is false, then true after a discovery (seed)', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const { resolver } = fakeResolver({}, new Set());
  const slow: Resolver = { ...resolver, lookup: async (q) => (await gate, resolver.lookup(q)) };
  const handle = await startSpec(DnsCluster.new().withQuery(DnsQuery.query('x')).withInterval(null).withResolver(slow).withLogger(quiet), fakeNode());
  assert.equal(await hasRan(handle, 100), false);
  release();
  await discoverNodes(handle, 1000);
  assert.equal(await hasRan(handle, 100), true);
  await stop(handle, 1000);
});

test('discoverNodes without a timeout returns empty at once and triggers a round (seed)', async () => {
  const { resolver, calls } = fakeResolver({ q: ['10.0.0.9'] }, new Set(['app@10.0.0.9']));
  const events: DiscoveryEvent[] = [];
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  handle.on('discovery', (e) => events.push(e));
  await handle.discoverNodes(1000); // interval null: no round at start, so this is the first
  assert.deepEqual(await handle.discoverNodes(), { nodes: [], errors: [] });
  await handle.discoverNodes(1000); // queued behind the triggered one
  assert.equal(calls.lookups.length, 3);
  assert.deepEqual(events.at(-1)?.found, ['app@10.0.0.9']);
  await handle.stop();
});

test('a basename per query, and lists of queries (DNSCluster)', async () => {
  const { resolver, calls } = fakeResolver({ a: ['10.0.0.5'], b: ['10.0.0.6'] }, new Set(['app@10.0.0.5', 'worker@10.0.0.6']));
  const handle = await DnsCluster.new()
    .withQuery([DnsQuery.query('a'), DnsQuery.query('b', { basename: 'worker' })])
    .withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  const result = await handle.discoverNodes(1000);
  assert.deepEqual(result.nodes.sort(), ['app@10.0.0.5', 'worker@10.0.0.6']);
  assert.deepEqual([...new Set(calls.lookups)].sort(), ['a', 'b']);
  await handle.stop();
});

test('Ignore: starts, never looks up, warns when asked, answers the current nodes (DNSCluster)', async () => {
  const { resolver, calls } = fakeResolver({}, new Set());
  const logs: string[] = [];
  const handle = await DnsCluster.new().withResolver(resolver).withLogger((level, m) => logs.push(`${level}:${m}`)).start(fakeNode());
  assert.deepEqual(await handle.discoverNodes(1000), { nodes: [], errors: [] });
  assert.deepEqual(calls.lookups, []);
  assert.ok(logs.some((l) => l.startsWith('warn:')), logs.join('\n'));
  await handle.stop();
});

test('rounds never overlap; requests during a round share the next one', async () => {
  const { resolver, calls } = fakeResolver({ q: ['10.0.0.2'] }, new Set(), 50);
  let active = 0;
  let maxActive = 0;
  const counting: Resolver = {
    ...resolver,
    lookup: async (q) => {
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        return await resolver.lookup(q);
      } finally {
        active--;
      }
    },
  };
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(counting).withLogger(quiet).start(fakeNode());
  await Promise.all([handle.discoverNodes(2000), handle.discoverNodes(2000), handle.discoverNodes(2000)]);
  assert.equal(maxActive, 1);
  assert.ok(calls.lookups.length <= 2, `lookups: ${calls.lookups.length}`);
  await handle.stop();
});

test('connections run in parallel within the bound and the per-connect timeout', async () => {
  const ips = Array.from({ length: 20 }, (_, i) => `10.0.1.${i + 1}`);
  const hang: Resolver = {
    ...fakeResolver({ q: ips }, new Set()).resolver,
    connectNode: () => new Promise(() => undefined), // never answers
  };
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(hang).withConnectTimeout(200).withMaxConcurrentConnects(20).withLogger(quiet).start(fakeNode());
  const t0 = Date.now();
  const result = await handle.discoverNodes(5000);
  const elapsed = Date.now() - t0;
  assert.equal(result.errors.length, 20);
  assert.ok(elapsed < 2000, `20 hung connects took ${elapsed} ms: they must overlap`);
  await handle.stop();
});

test('a failing lookup is logged and the next round goes on', async () => {
  const dns: Record<string, string[] | Error> = { q: new Error('SERVFAIL') };
  const { resolver } = fakeResolver(dns, new Set(['app@10.0.0.7']));
  const logs: string[] = [];
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger((l, m) => logs.push(`${l}:${m}`)).start(fakeNode());
  assert.deepEqual(await handle.discoverNodes(1000), { nodes: [], errors: [] });
  // The seed has no line for this; a failing DNS server must be logged, so ours is at error.
  assert.ok(logs.includes('error:DNS lookup of q failed: SERVFAIL'), logs.join('\n'));
  dns.q = ['10.0.0.7'];
  assert.deepEqual((await handle.discoverNodes(1000)).nodes, ['app@10.0.0.7']);
  await handle.stop();
});

test('reconnects a node still in DNS whose connection dropped (libcluster #148)', async () => {
  const { resolver, connected, calls } = fakeResolver({ q: ['10.0.0.8'] }, new Set(['app@10.0.0.8']));
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  await handle.discoverNodes(1000);
  connected.delete('app@10.0.0.8');
  assert.deepEqual((await handle.discoverNodes(1000)).nodes, ['app@10.0.0.8']);
  assert.ok(calls.connects.filter((n) => n === 'app@10.0.0.8').length >= 2);
  await handle.stop();
});

test('prune is off by default, and disconnects nodes that left DNS when on (libcluster #190)', async () => {
  const dns: Record<string, string[]> = { q: ['10.0.0.2', '10.0.0.3'] };
  for (const prune of [false, true]) {
    const { resolver, calls } = fakeResolver(dns, new Set(['app@10.0.0.2', 'app@10.0.0.3']));
    dns.q = ['10.0.0.2', '10.0.0.3'];
    const handle = await DnsCluster.new().withQuery('q').withInterval(null).withPrune(prune).withPruneAfter(1).withResolver(resolver).withLogger(quiet).start(fakeNode());
    await handle.discoverNodes(1000);
    dns.q = ['10.0.0.2'];
    const { nodes } = await handle.discoverNodes(1000);
    assert.deepEqual(nodes.sort(), prune ? ['app@10.0.0.2'] : ['app@10.0.0.2', 'app@10.0.0.3']);
    assert.deepEqual(calls.disconnects, prune ? ['app@10.0.0.3'] : []);
    await handle.stop();
  }
});

test('the interval polls, and no timer outlives stop', async () => {
  const { resolver, calls } = fakeResolver({ q: [] }, new Set());
  const handle = await DnsCluster.new().withQuery('q').withInterval(20).withResolver(resolver).withLogger(quiet).start(fakeNode());
  const deadline = Date.now() + 2000;
  while (calls.lookups.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(calls.lookups.length >= 3, 'polled at least three times');
  await handle.stop();
  const after = calls.lookups.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls.lookups.length, after, 'no lookup after stop');
});

test('stop is idempotent and a stopped handle answers with a clear error', async () => {
  const { resolver } = fakeResolver({}, new Set());
  const handle = await DnsCluster.new().withResolver(resolver).withLogger(quiet).start(fakeNode());
  await handle.stop();
  await handle.stop();
  await assert.rejects(handle.discoverNodes(100), NotRunningError);
  await assert.rejects(handle.hasRan(100), NotRunningError);
});

test('the name is unique per node; bad options are refused at start', async () => {
  const node = fakeNode();
  const { resolver } = fakeResolver({}, new Set());
  const first = await DnsCluster.new().withResolver(resolver).withLogger(quiet).start(node);
  await assert.rejects(DnsCluster.new().withResolver(resolver).withLogger(quiet).start(node), InvalidOptionError);
  const other = await DnsCluster.new().withName('second').withResolver(resolver).withLogger(quiet).start(node);
  await other.stop();
  await first.stop();
  await assert.rejects(DnsCluster.new().withInterval(-5).start(node), /interval/);
  await assert.rejects(DnsCluster.new().withQuery('').start(node), /query/);
  await assert.rejects(DnsCluster.new().withMaxConcurrentConnects(0).start(node), /maxConcurrentConnects/);
});

test('discoverNodes with a timeout shorter than the round rejects with TimeoutError', async () => {
  const { resolver } = fakeResolver({ q: ['10.0.0.2'] }, new Set(), 300);
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  await assert.rejects(handle.discoverNodes(50), TimeoutError);
  await handle.stop();
});
