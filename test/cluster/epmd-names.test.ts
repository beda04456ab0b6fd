// `names` queries with a fake resolver and the timer off: basenames found through each
// address's EPMD (NAMES_REQ), matched by prefix, RegExp or predicate; a deadline per
// address; a bounded cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsCluster, DnsQuery } from '../../src/cluster/dns-cluster.js';
import { EpmdNamesCache } from '../../src/cluster/epmd-names.js';
import type { Resolver } from '../../src/cluster/resolver.js';
import { InvalidOptionError } from '../../src/errors.js';
import { fakeNode, fakeResolver } from './fakes.js';

const quiet = () => undefined;

/** A fake resolver whose EPMDs answer from `registered` (address -> names); `hang` never answers, `fail` rejects. */
function withEpmd(dns: Record<string, string[]>, registered: Record<string, string[] | 'hang' | 'fail'>, up: Set<string>) {
  const base = fakeResolver(dns, up);
  const asked: string[] = [];
  const resolver: Resolver = {
    ...base.resolver,
    names(address) {
      asked.push(address);
      const r = registered[address];
      if (r === 'hang') return new Promise(() => undefined);
      if (r === 'fail' || r === undefined) return Promise.reject(new Error(`ECONNREFUSED ${address}:4369`));
      return Promise.resolve(r);
    },
  };
  return { ...base, resolver, asked };
}

test('a names query connects to the matching registered names only (prefix, RegExp, predicate)', async () => {
  const registered = { '10.0.0.2': ['app-01ab', 'worker'], '10.0.0.3': ['app-99zz', 'app_console'] };
  const up = new Set(['app-01ab@10.0.0.2', 'app-99zz@10.0.0.3', 'worker@10.0.0.2', 'app_console@10.0.0.3']);
  const patterns = ['app-', /^app-[0-9a-z]{4}$/, (name: string, address: string) => name.startsWith('app-') && address.startsWith('10.')];
  for (const names of patterns) {
    const { resolver, calls } = withEpmd({ q: ['10.0.0.2', '10.0.0.3'] }, registered, up);
    const handle = await DnsCluster.new().withQuery(DnsQuery.query('q', { names })).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode('main@10.0.0.1'));
    const { nodes } = await handle.discoverNodes(1000);
    await handle.stop();
    assert.deepEqual(nodes.sort(), ['app-01ab@10.0.0.2', 'app-99zz@10.0.0.3'], String(names));
    assert.deepEqual(calls.connects.sort(), ['app-01ab@10.0.0.2', 'app-99zz@10.0.0.3'], 'the others are never tried');
  }
});

test('the local node is not connected even when its own name matches', async () => {
  const { resolver, calls } = withEpmd({ q: ['10.0.0.1', '10.0.0.2'] }, { '10.0.0.1': ['app-1'], '10.0.0.2': ['app-2'] }, new Set(['app-2@10.0.0.2']));
  const handle = await DnsCluster.new().withQuery(DnsQuery.query('q', { names: 'app-' })).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode('app-1@10.0.0.1'));
  await handle.discoverNodes(1000);
  await handle.stop();
  assert.deepEqual(calls.connects, ['app-2@10.0.0.2']);
});

test('an address whose EPMD never answers is skipped after the timeout; the round finishes and reports it', async () => {
  const { resolver } = withEpmd({ q: ['10.0.0.2', '10.0.0.3', '10.0.0.4'] }, { '10.0.0.2': ['app-a'], '10.0.0.3': 'hang', '10.0.0.4': 'fail' }, new Set(['app-a@10.0.0.2']));
  const handle = await DnsCluster.new().withQuery(DnsQuery.query('q', { names: 'app-' })).withEpmdNames({ timeoutMs: 100 }).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  const { nodes, errors } = await handle.discoverNodes(5000);
  await handle.stop();
  assert.deepEqual(nodes, ['app-a@10.0.0.2']);
  assert.deepEqual(errors, []);
  const skipped = handle.lastDiscovery!.namesErrors.map((e) => e.address).sort();
  assert.deepEqual(skipped, ['10.0.0.3', '10.0.0.4']);
  assert.match(handle.lastDiscovery!.namesErrors.find((e) => e.address === '10.0.0.3')!.error, /did not answer NAMES within 100 ms/);
});

test('answers are cached: a fresh answer is not asked for again; a failed connect asks again next round', async () => {
  const registered: Record<string, string[]> = { '10.0.0.2': ['app-a'], '10.0.0.3': ['app-old'] };
  const up = new Set(['app-a@10.0.0.2', 'app-new@10.0.0.3']);
  const { resolver, asked, calls } = withEpmd({ q: ['10.0.0.2', '10.0.0.3'] }, registered, up);
  const handle = await DnsCluster.new().withQuery(DnsQuery.query('q', { names: 'app-' })).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  await handle.discoverNodes(1000);
  assert.deepEqual(asked.sort(), ['10.0.0.2', '10.0.0.3']);
  assert.ok(calls.connects.includes('app-old@10.0.0.3'), 'the stale name was tried and failed');
  registered['10.0.0.3'] = ['app-new']; // a new release on the same address (Fly keeps a machine's IP)
  const { nodes } = await handle.discoverNodes(1000);
  await handle.discoverNodes(1000);
  await handle.stop();
  assert.deepEqual(asked.sort(), ['10.0.0.2', '10.0.0.3', '10.0.0.3'], '10.0.0.2 answered once; 10.0.0.3 asked again after its failed connect');
  assert.deepEqual(nodes.sort(), ['app-a@10.0.0.2', 'app-new@10.0.0.3']);
});

test('the cache expires after cacheMs and keeps at most maxCached addresses, the oldest going first', async () => {
  let now = 1_000;
  const asked: string[] = [];
  const cache = new EpmdNamesCache(async (a) => (asked.push(a), ['n']), { timeoutMs: 100, cacheMs: 500, maxCached: 2 }, () => now);
  for (const a of ['a', 'b', 'a']) await cache.lookup(a);
  assert.deepEqual(asked, ['a', 'b']);
  assert.deepEqual(await cache.lookup('a'), { ok: true, names: ['n'], cached: true });
  await cache.lookup('c');
  assert.deepEqual(cache.cachedAddresses(), ['b', 'c'], 'a was the oldest entry');
  now += 500;
  await cache.lookup('b');
  assert.deepEqual(asked, ['a', 'b', 'c', 'b'], 'b expired');
});

test('names from EPMD that cannot be a node name are dropped; a throwing predicate matches nothing and does not crash the round', async () => {
  const registered = { '10.0.0.2': ['app-ok', 'bad@name', 'sp ace', '', 'x'.repeat(300)] };
  const { resolver, calls } = withEpmd({ q: ['10.0.0.2'] }, registered, new Set(['app-ok@10.0.0.2']));
  const handle = await DnsCluster.new().withQuery(DnsQuery.query('q', { names: /./ })).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  await handle.discoverNodes(1000);
  await handle.stop();
  assert.deepEqual(calls.connects, ['app-ok@10.0.0.2']);
  const thrower = withEpmd({ q: ['10.0.0.2'] }, registered, new Set());
  const lines: string[] = [];
  const h2 = await DnsCluster.new()
    .withQuery(DnsQuery.query('q', { names: () => { throw new Error('user bug'); } }))
    .withInterval(null).withResolver(thrower.resolver).withLogger((l, m) => lines.push(`${l}:${m}`)).start(fakeNode());
  assert.deepEqual(await h2.discoverNodes(1000), { nodes: [], errors: [] });
  await h2.stop();
  assert.ok(lines.some((l) => l.startsWith('debug:') && l.includes('user bug')));
});

test('a RegExp with the g flag matches every name, not every other one', async () => {
  const registered = { '10.0.0.2': ['app-a', 'app-b', 'app-c'] };
  const up = new Set(['app-a@10.0.0.2', 'app-b@10.0.0.2', 'app-c@10.0.0.2']);
  const { resolver } = withEpmd({ q: ['10.0.0.2'] }, registered, up);
  const handle = await DnsCluster.new().withQuery(DnsQuery.query('q', { names: /^app-/g })).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  const { nodes } = await handle.discoverNodes(1000);
  await handle.stop();
  assert.equal(nodes.length, 3);
});

test('prune with a names query: a matching node whose address left DNS goes after pruneAfter rounds', async () => {
  const dns: Record<string, string[]> = { q: ['10.0.0.2', '10.0.0.3'] };
  const { resolver, calls } = withEpmd(dns, { '10.0.0.2': ['app-a'], '10.0.0.3': ['app-b'] }, new Set(['app-a@10.0.0.2', 'app-b@10.0.0.3']));
  const handle = await DnsCluster.new().withQuery(DnsQuery.query('q', { names: 'app-' })).withPrune(true).withPruneAfter(2).withInterval(null).withResolver(resolver).withLogger(quiet).start(fakeNode());
  await handle.discoverNodes(1000);
  dns.q = ['10.0.0.2'];
  await handle.discoverNodes(1000);
  assert.deepEqual(calls.disconnects, []);
  const { nodes } = await handle.discoverNodes(1000);
  await handle.stop();
  assert.deepEqual(calls.disconnects, ['app-b@10.0.0.3']);
  assert.deepEqual(nodes, ['app-a@10.0.0.2']);
});

test('names options are checked at start', async () => {
  const { resolver } = fakeResolver({}, new Set());
  await assert.rejects(DnsCluster.new().withQuery(DnsQuery.query('q', { names: 'app-' })).withResolver(resolver).start(fakeNode()), InvalidOptionError, 'a resolver without names()');
  const { resolver: r2 } = withEpmd({}, {}, new Set());
  await assert.rejects(DnsCluster.new().withQuery(DnsQuery.query('q', { names: 'a', basename: 'b' })).withResolver(r2).start(fakeNode()), /either basename or names/);
  await assert.rejects(DnsCluster.new().withQuery(DnsQuery.query('q', { names: 42 as never })).withResolver(r2).start(fakeNode()), /query names/);
  await assert.rejects(DnsCluster.new().withEpmdNames({ timeoutMs: 0 }).withResolver(r2).start(fakeNode()), /epmdNames.timeoutMs/);
  await assert.rejects(DnsCluster.new().withEpmdNames({ maxCached: -1 }).withResolver(r2).start(fakeNode()), /epmdNames.maxCached/);
  assert.deepEqual(DnsCluster.new().withEpmdNames({ timeoutMs: 250 }).build().epmdNames, { timeoutMs: 250, cacheMs: 30_000, maxCached: 1024 });
});

test('DnsQuery.parse reads the one-word forms: NAME, BASENAME:NAME, PREFIX*:NAME', () => {
  assert.deepEqual(DnsQuery.parse('my-app.internal'), DnsQuery.query('my-app.internal'));
  assert.deepEqual(DnsQuery.parse('nessie:nessie-headless'), DnsQuery.query('nessie-headless', { basename: 'nessie' }));
  assert.deepEqual(DnsQuery.parse('my-app-*:my-app.internal'), DnsQuery.query('my-app.internal', { names: 'my-app-' }));
  assert.deepEqual(DnsQuery.parse('fdaa:0:1::2'), DnsQuery.query('fdaa:0:1::2'), 'an IPv6 literal is a name, not BASENAME:NAME');
  assert.deepEqual(DnsQuery.parse('_epmd._tcp.my-app'), DnsQuery.query('_epmd._tcp.my-app'));
  assert.throws(() => DnsQuery.parse('app:'), InvalidOptionError);
  assert.throws(() => DnsQuery.parse(''), InvalidOptionError);
});
