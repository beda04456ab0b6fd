// `names` queries live: dnsmasq answers the query with four addresses, and the basenames
// are found by asking each address's EPMD (NAMES_REQ):
//   127.0.0.1  the real epmd binary: real erl nodes (OTP 25 and 27) and TS nodes registered there
//   127.0.0.2  the embedded EpmdServer (started by the first TS node there): TS nodes
//   127.0.0.3  a socket that accepts and never answers: skipped after the timeout
//   127.0.0.4  the discovering node (its own embedded EPMD)
// Only names matching /^app-/ are connected; the others (`other`, `worker`) are not.
//
// The real epmd also listens on ::1 and erl registers at 127.0.0.1 whatever its name
// (see test/support/epmd-process.ts), so the erl node is app-…@127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { DnsCluster, DnsQuery, Node, defaultResolver, silentLogger } from '../../src/index.js';
import { Dnsmasq, requireDnsmasq } from '../support/dnsmasq.js';
import { EpmdProcess, epmdAvailability } from '../support/epmd-process.js';
import { ErlPeer, requireOtp } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'names-cookie';
const QUERY = 'names.test';
/** Unique per run, as a real release's per-deploy suffix would be. */
const RUN = Date.now().toString(36);

test('a names query connects the matching nodes registered with real epmd and the embedded EPMD, skips an unanswering EPMD, and leaves the other names alone', { timeout: 90_000 }, async (t) => {
  if (!requireDnsmasq(t) || !requireOtp(t, 25) || !requireOtp(t, 27)) return;
  const epmdOk = epmdAvailability();
  if (!epmdOk.ok) {
    if (process.env.CI) throw new Error(epmdOk.reason);
    return t.skip(epmdOk.reason);
  }
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const port = await freeSharedPort([...hosts, '::1']);
  const dns = await Dnsmasq.start();
  const cleanup: Array<() => Promise<unknown> | void> = [() => dns.remove()];
  const hungSockets = new Set<Socket>();
  try {
    const epmd = await EpmdProcess.start({ port });
    cleanup.unshift(() => epmd.stop());
    const erl = await ErlPeer.start({ name: `app-erl${RUN}@127.0.0.1`, cookie: COOKIE, otp: 25, epmdPort: port });
    cleanup.unshift(() => erl.stop());
    const erl27 = await ErlPeer.start({ name: `app-erl27${RUN}@127.0.0.1`, cookie: COOKIE, otp: 27, epmdPort: port });
    cleanup.unshift(() => erl27.stop());
    const start = async (name: string) => {
      const node = await Node.start({ name, cookie: COOKIE, epmd: { port }, connectTimeout: 3000, logger: silentLogger });
      cleanup.unshift(() => node.stop());
      return node;
    };
    await start(`app-ts${RUN}@127.0.0.1`); // with the real epmd
    await start(`other${RUN}@127.0.0.1`); // with the real epmd, not matching
    await start(`app-emb${RUN}@127.0.0.2`); // starts the embedded EPMD on 127.0.0.2
    await start(`worker${RUN}@127.0.0.2`); // with that embedded EPMD, not matching
    const hung = createServer((s) => hungSockets.add(s)); // accepts, never answers
    await new Promise<void>((r) => hung.listen(port, '127.0.0.3', () => r()));
    cleanup.unshift(() => new Promise<void>((r) => hung.close(() => r())));
    const main = await start(`main${RUN}@127.0.0.4`);

    await dns.set(QUERY, hosts);
    const lines: string[] = [];
    const cluster = await DnsCluster.new()
      .withQuery(DnsQuery.query(QUERY, { names: /^app-/ }))
      .withEpmdNames({ timeoutMs: 500 })
      .withInterval(null)
      .withLogger((level, m) => lines.push(`${level}:${m}`))
      .withResolver(defaultResolver(main, { servers: [dns.server], epmdPort: port, timeoutMs: 1000 }))
      .start(main);
    cleanup.unshift(() => cluster.stop());

    const expected = [`app-emb${RUN}@127.0.0.2`, `app-erl${RUN}@127.0.0.1`, `app-erl27${RUN}@127.0.0.1`, `app-ts${RUN}@127.0.0.1`].sort();
    const first = await cluster.discoverNodes(20_000);
    assert.deepEqual(first.nodes.sort(), expected, lines.join('\n'));
    assert.deepEqual(first.errors, []);
    assert.deepEqual(main.nodes('connected').sort(), expected, 'other… and worker… are not connected');
    const skipped = cluster.lastDiscovery!.namesErrors;
    assert.deepEqual(skipped.map((e) => e.address), ['127.0.0.3'], JSON.stringify(skipped));
    assert.match(skipped[0].error, /did not answer NAMES within 500 ms/);

    // The BEAM side sees the TS node, and it answers.
    for (const peer of [erl, erl27]) {
      assert.equal(await peer.eval(`lists:member('main${RUN}@127.0.0.4', nodes()).`), 'true');
      assert.equal(await peer.eval(`net_adm:ping('main${RUN}@127.0.0.4').`), 'pong');
    }

    // A second round: nothing new, the hung address is skipped again and the round still finishes.
    const second = await cluster.discoverNodes(20_000);
    assert.deepEqual(second.nodes.sort(), expected);
    assert.deepEqual(cluster.lastDiscovery!.namesErrors.map((e) => e.address), ['127.0.0.3']);
    assert.equal(lines.filter((l) => l.startsWith('info:Connected to node')).length, expected.length, lines.join('\n'));
  } finally {
    for (const s of hungSockets) s.destroy();
    for (const f of cleanup) await f();
  }
});

test('a release that changes its basename on the same address is found again (the stale cached name fails once, then EPMD is asked afresh)', { timeout: 60_000 }, async (t) => {
  if (!requireDnsmasq(t)) return;
  const hosts = ['127.0.0.2', '127.0.0.4'];
  const port = await freeSharedPort(hosts);
  const dns = await Dnsmasq.start();
  const cleanup: Array<() => Promise<unknown> | void> = [() => dns.remove()];
  try {
    const start = async (name: string) => {
      const node = await Node.start({ name, cookie: COOKIE, epmd: { port }, connectTimeout: 2000, logger: silentLogger });
      return node;
    };
    const main = await start(`main${RUN}@127.0.0.4`);
    cleanup.unshift(() => main.stop());
    let release = await start(`app-v1${RUN}@127.0.0.2`);
    await dns.set(QUERY, hosts);
    const cluster = await DnsCluster.new()
      .withQuery(DnsQuery.query(QUERY, { names: 'app-' }))
      .withInterval(null)
      .withLogger(() => undefined)
      .withResolver(defaultResolver(main, { servers: [dns.server], epmdPort: port }))
      .start(main);
    cleanup.unshift(() => cluster.stop());
    assert.deepEqual((await cluster.discoverNodes(10_000)).nodes, [`app-v1${RUN}@127.0.0.2`]);

    // Deploy: the old release stops (its embedded EPMD with it), the new one starts on the same address.
    await release.stop();
    assert.ok(await eventually(() => main.nodes().length === 0, 10_000), 'main saw app-v1 go');
    release = await start(`app-v2${RUN}@127.0.0.2`);
    cleanup.unshift(() => release.stop());
    // The cached answer still names app-v1: that connect fails, and drops the answer…
    const between = await cluster.discoverNodes(10_000);
    assert.deepEqual(between.errors.map((e) => e.node), [`app-v1${RUN}@127.0.0.2`]);
    // …so the next round asks EPMD again and finds the new name.
    const after = await cluster.discoverNodes(10_000);
    assert.deepEqual(after.nodes, [`app-v2${RUN}@127.0.0.2`]);
    assert.deepEqual(after.errors, []);
  } finally {
    for (const f of cleanup) await f();
  }
});
