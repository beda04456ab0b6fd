// The seed's behaviour, exactly (issue 9, section 4): nessie_cluster's src/nessie_cluster.gleam
// read line by line. Fake resolver, interval off unless the case is about the interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsCluster, DnsQuery } from '../../src/cluster/dns-cluster.js';
import { defaultResolver, type Resolver, type ResolverNode } from '../../src/cluster/resolver.js';
import { fakeNode, fakeResolver } from './fakes.js';

const quiet = () => undefined;

function recorder() {
  const lines: string[] = [];
  return { lines, logger: (level: string, message: string) => void lines.push(`${level}:${message}`) };
}

test('withInterval(null) looks nothing up at start: only discoverNodes runs a round (seed init)', async () => {
  const { resolver, calls } = fakeResolver({ q: ['10.0.0.2'] }, new Set(['app@10.0.0.2']));
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  // The lookup of a round starts synchronously with it, so a start round would show here.
  assert.deepEqual(calls.lookups, []);
  assert.equal(await handle.hasRan(), false);
  await handle.discoverNodes(1000);
  assert.deepEqual(calls.lookups, ['q']);
  assert.equal(await handle.hasRan(), true);
  await handle.stop();
});

test('with an interval the first round runs at start (seed init)', async () => {
  const { resolver, calls } = fakeResolver({ q: [] }, new Set());
  const handle = await DnsCluster.new().withQuery('q').withInterval(60_000).withResolver(resolver).withLogger(quiet).start(fakeNode());
  assert.deepEqual(calls.lookups, ['q']);
  await handle.stop();
});

// A failing DNS server must be logged (the project's standard), so lookup failures are
// the one line of ours above debug.
test("log lines carry the seed's levels and texts; our own lines are debug, but for failed lookups", async () => {
  const { resolver } = fakeResolver({ q: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], bad: new Error('SERVFAIL') }, new Set(['app@10.0.0.2']));
  const log = recorder();
  const handle = await DnsCluster.new().withQuery(['q', 'bad']).withInterval(null).withPrune(true).withResolver(resolver).withLogger(log.logger).start(fakeNode());
  await handle.discoverNodes(1000);
  await handle.stop();
  const loud = log.lines.filter((l) => !l.startsWith('debug:'));
  assert.deepEqual(loud, [
    'error:DNS lookup of bad failed: SERVFAIL',
    'info:Connected to node app@10.0.0.2',
    'error:Failed to connect to node app@10.0.0.3: failed to connect',
    'warn:DNS cluster stopped.',
  ]);
});

test('a failed connect with a reason keeps the seed text and adds the reason after it', async () => {
  const { resolver } = fakeResolver({ q: ['10.0.0.3'] }, new Set());
  const refusing: Resolver = { ...resolver, connectNode: async () => ({ ok: false, error: { type: 'FailedToConnect', reason: 'ECONNREFUSED' } }) };
  const log = recorder();
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(refusing).withLogger(log.logger).start(fakeNode());
  await handle.discoverNodes(1000);
  await handle.stop();
  assert.ok(log.lines.includes('error:Failed to connect to node app@10.0.0.3: failed to connect (ECONNREFUSED)'), log.lines.join('\n'));
});

test('Ignore: a discovery warns with the seed text, and hasRan stays false (seed)', async () => {
  const { resolver } = fakeResolver({}, new Set());
  const log = recorder();
  const handle = await DnsCluster.new().withQuery(DnsQuery.Ignore).withResolver(resolver).withLogger(log.logger).start(fakeNode());
  assert.deepEqual(log.lines.filter((l) => !l.startsWith('debug:')), [], 'nothing but debug at start, as the seed logs nothing');
  await handle.discoverNodes(1000);
  assert.equal(await handle.hasRan(), false);
  assert.deepEqual(log.lines.filter((l) => !l.startsWith('debug:')), ['warn:DNS cluster is set to ignore, will not discover or connect to nodes.']);
  await handle.stop();
});

test('the local node in DNS is neither connected nor logged; the answer lists the other nodes (seed list_nodes = erlang:nodes())', async () => {
  const { resolver, calls } = fakeResolver({ q: ['10.0.0.1', '10.0.0.2'] }, new Set(['app@10.0.0.2']));
  const log = recorder();
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger(log.logger).start(fakeNode('app@10.0.0.1'));
  const { nodes } = await handle.discoverNodes(1000);
  await handle.stop();
  assert.deepEqual(nodes, ['app@10.0.0.2']);
  assert.deepEqual(calls.connects, ['app@10.0.0.2']);
  assert.ok(!log.lines.some((l) => l.includes('app@10.0.0.1')), log.lines.join('\n'));
});

test('prune waits for pruneAfter consecutive misses; an answer with the node resets the count; a failed lookup counts neither way', async () => {
  const dns: Record<string, string[] | Error> = { q: ['10.0.0.2', '10.0.0.3'] };
  const { resolver, calls } = fakeResolver(dns, new Set(['app@10.0.0.2', 'app@10.0.0.3']));
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withPrune(true).withResolver(resolver).withLogger(quiet).start(fakeNode());
  assert.equal(handle.options.pruneAfter, 3, 'default 3');
  await handle.discoverNodes(1000);
  dns.q = []; // an empty answer (NXDOMAIN reads the same)
  await handle.discoverNodes(1000);
  await handle.discoverNodes(1000);
  assert.deepEqual(calls.disconnects, [], 'two empty answers disconnect nothing');
  dns.q = ['10.0.0.2', '10.0.0.3'];
  await handle.discoverNodes(1000); // back: the count starts again
  dns.q = ['10.0.0.2'];
  await handle.discoverNodes(1000);
  await handle.discoverNodes(1000);
  dns.q = new Error('SERVFAIL');
  await handle.discoverNodes(1000);
  assert.deepEqual(calls.disconnects, [], 'two misses and a failed lookup');
  dns.q = ['10.0.0.2'];
  const { nodes } = await handle.discoverNodes(1000);
  assert.deepEqual(calls.disconnects, ['app@10.0.0.3'], 'the third miss in a row prunes');
  assert.deepEqual(nodes, ['app@10.0.0.2']);
  await handle.stop();
});

test('prune leaves alone nodes whose basename no query has', async () => {
  const dns: Record<string, string[]> = { q: ['10.0.0.2'] };
  const { resolver, calls, connected } = fakeResolver(dns, new Set(['app@10.0.0.2']));
  connected.add('other@10.0.0.9');
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withPrune(true).withPruneAfter(1).withResolver(resolver).withLogger(quiet).start(fakeNode());
  await handle.discoverNodes(1000);
  dns.q = [];
  await handle.discoverNodes(1000);
  assert.deepEqual(calls.disconnects, ['app@10.0.0.2']);
  await handle.stop();
});

test('withPruneAfter refuses anything but a positive integer', async () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(DnsCluster.new().withPruneAfter(bad).start(fakeNode()), /pruneAfter/);
  }
});

test('a connected hidden node is not connected again, nor logged as connected, every round', async () => {
  const hidden = new Set<string>();
  const { resolver, calls } = fakeResolver({ q: ['10.0.0.5'] }, new Set());
  // A hidden peer: the connect succeeds, but listNodes (visible) never shows it.
  const withHidden: Resolver = {
    ...resolver,
    connectNode: async (node) => (calls.connects.push(node), hidden.add(node), { ok: true, node }),
    connectedNodes: () => [...hidden],
  };
  const log = recorder();
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(withHidden).withLogger(log.logger).start(fakeNode());
  for (let i = 0; i < 3; i++) await handle.discoverNodes(1000);
  await handle.stop();
  assert.deepEqual(calls.connects, ['app@10.0.0.5']);
  assert.equal(log.lines.filter((l) => l.startsWith('info:Connected')).length, 1);
});

test('defaultResolver reports hidden connections through connectedNodes', () => {
  const node: ResolverNode = {
    tryConnect: async () => ({ ok: true }),
    nodes: (which = 'visible') => (which === 'connected' ? ['a@10.0.0.2', 'h@10.0.0.3'] : ['a@10.0.0.2']),
    disconnect: async () => true,
  };
  const r = defaultResolver(node, { servers: ['127.0.0.1:1'] });
  assert.deepEqual(r.listNodes(), ['a@10.0.0.2']);
  assert.deepEqual(r.connectedNodes?.(), ['a@10.0.0.2', 'h@10.0.0.3']);
});

test('a peer that keeps failing is logged at error when it starts failing and once when it recovers; a failing lookup likewise', async () => {
  const dns: Record<string, string[] | Error> = { q: ['10.0.0.2'], bad: new Error('SERVFAIL') };
  const up = new Set<string>();
  const { resolver, connected } = fakeResolver(dns, up);
  const log = recorder();
  const handle = await DnsCluster.new().withQuery(['q', 'bad']).withInterval(null).withResolver(resolver).withLogger(log.logger).start(fakeNode());
  const loud = () => log.lines.splice(0).filter((l) => !l.startsWith('debug:'));
  for (let i = 0; i < 3; i++) await handle.discoverNodes(1000);
  assert.deepEqual(loud(), ['error:DNS lookup of bad failed: SERVFAIL', 'error:Failed to connect to node app@10.0.0.2: failed to connect'], 'three failing rounds, one line each');
  up.add('app@10.0.0.2');
  dns.bad = [];
  await handle.discoverNodes(1000);
  assert.deepEqual(loud(), ['info:DNS lookup of bad succeeded again', 'info:Connected to node app@10.0.0.2']);
  await handle.discoverNodes(1000);
  assert.deepEqual(loud(), [], 'a healthy round says nothing');
  // Failing again later is a new start: logged again.
  up.delete('app@10.0.0.2');
  connected.delete('app@10.0.0.2');
  dns.bad = new Error('REFUSED');
  await handle.discoverNodes(1000);
  await handle.discoverNodes(1000);
  assert.deepEqual(loud(), ['error:DNS lookup of bad failed: REFUSED', 'error:Failed to connect to node app@10.0.0.2: failed to connect']);
  await handle.stop();
});

test('a failing peer that leaves DNS is forgotten: when it comes back failing, that is logged again', async () => {
  const dns: Record<string, string[]> = { q: ['10.0.0.2'] };
  const { resolver } = fakeResolver(dns, new Set());
  const log = recorder();
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger(log.logger).start(fakeNode());
  const errors = () => log.lines.splice(0).filter((l) => l.startsWith('error:'));
  await handle.discoverNodes(1000);
  await handle.discoverNodes(1000);
  assert.equal(errors().length, 1);
  dns.q = [];
  await handle.discoverNodes(1000);
  dns.q = ['10.0.0.2'];
  await handle.discoverNodes(1000);
  assert.deepEqual(errors(), ['error:Failed to connect to node app@10.0.0.2: failed to connect']);
  await handle.stop();
});

test('a failing peer hidden for a round by a failing lookup is not logged again as a new failure', async () => {
  const dns: Record<string, string[] | Error> = { q: ['10.0.0.2'] };
  const { resolver } = fakeResolver(dns, new Set());
  const log = recorder();
  const handle = await DnsCluster.new().withQuery('q').withInterval(null).withResolver(resolver).withLogger(log.logger).start(fakeNode());
  const loud = () => log.lines.splice(0).filter((l) => !l.startsWith('debug:'));
  await handle.discoverNodes(1000);
  assert.deepEqual(loud(), ['error:Failed to connect to node app@10.0.0.2: failed to connect']);
  dns.q = new Error('SERVFAIL');
  await handle.discoverNodes(1000);
  assert.deepEqual(loud(), ['error:DNS lookup of q failed: SERVFAIL']);
  dns.q = ['10.0.0.2'];
  await handle.discoverNodes(1000);
  assert.deepEqual(loud(), ['info:DNS lookup of q succeeded again'], 'the peer is still failing: not a new start');
  await handle.stop();
});
