// Distribution over TLS against real BEAM nodes started with `-proto_dist inet_tls
// -ssl_dist_optfile FILE` (OTP 25 and 27): ping, echo and rpc both ways; a wrong CA, a
// plain TCP peer and an expired certificate refused both ways, each failure closing
// its own connection only; 64 MiB fragmented messages each way; certificates reloaded
// without dropping a live connection; DnsCluster forming a mixed TS + BEAM mesh over TLS.
// Certificates are made with openssl in a temp directory per test (tls-certs.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, DnsCluster, DnsQuery, defaultResolver, ErrorCode, Node, Tuple, tuple, type DnsClusterHandle, type NodeOptions, type Pid } from '../../src/index.js';
import { Dnsmasq, requireDnsmasq } from '../support/dnsmasq.js';
import { bigBinaryBothWays } from '../support/big-binary.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';
import { TestPki } from '../support/tls-certs.js';

const COOKIE = 'tls-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

/** A logger that keeps every line, to check what the node reported (and never a key). */
function recorder(): { lines: string[]; logger: NodeOptions['logger'] } {
  const lines: string[] = [];
  return { lines, logger: (level, message) => void lines.push(`${level} ${message}`) };
}

/** A TS process registered as `echo` that sends {echo, Msg} back to the pid in {Pid, Msg}. */
function serveEcho(node: Node): void {
  const p = node.spawn({ name: 'echo' });
  void (async () => {
    for (let i = 0; i < 100; i++) {
      const m = await p.receive().catch(() => undefined);
      if (m === undefined) return;
      if (m instanceof Tuple && m.length === 2) node.send(m[0] as Pid, tuple(atom('echo'), m[1]));
    }
  })();
}

async function withPki(fn: (pki: TestPki) => Promise<void>): Promise<void> {
  const pki = new TestPki();
  try {
    await fn(pki);
  } finally {
    pki.remove();
  }
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: ping, echo and rpc both ways over TLS`, async (t) => {
    if (!requireOtp(t, otp)) return;
    await withPki(async (pki) => {
      pki.ca('ca');
      const erlCert = pki.issue('erl', 'ca');
      const tsCert = pki.issue('ts', 'ca');
      const port = await freeSharedPort(ADDRESSES);
      const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, erlCert) });
      const log = recorder();
      const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: log.logger, tls: pki.nodeTls(tsCert) });
      try {
        // TS dials BEAM.
        assert.equal(await node.ping(ERL), 'pong');
        assert.equal(await node.rpc(ERL, 'erlang', 'node', []), atom(ERL));
        // The BEAM side really runs TLS distribution.
        assert.equal(await erl.eval(`{ok, I} = net_kernel:node_info('${TS}'), element(4, proplists:get_value(address, I)).`), 'tls');
        node.expose('js_math', { add: (a, b) => (a as number) + (b as number) });
        serveEcho(node);
        assert.equal(await erl.eval(`rpc:call('${TS}', js_math, add, [40, 2]).`), '42');
        assert.equal(await erl.eval(`{echo, '${TS}'} ! {self(), hello}, receive {echo, M} -> M after 5000 -> timeout end.`), 'hello');

        // BEAM dials TS.
        assert.equal(await erl.eval(`erlang:disconnect_node('${TS}').`), 'true');
        assert.ok(await eventually(() => node.nodes().length === 0, 5000));
        assert.equal(await erl.eval(`net_adm:ping('${TS}').`), 'pong');
        assert.equal(await erl.eval(`erpc:call('${TS}', js_math, add, [1, 2]).`), '3');
        assert.equal(await node.rpc(ERL, 'lists', 'sum', [[1, 2, 3]]), 6);
        assert.ok(!log.lines.some((l) => l.includes('PRIVATE KEY')), 'no key material in the logs');
      } finally {
        await node.stop();
        await erl.stop();
      }
    });
  });

  test(`OTP ${otp}: a 64 MiB binary each way over TLS (fragmented)`, { timeout: 120_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    await withPki(async (pki) => {
      pki.ca('ca');
      const port = await freeSharedPort(ADDRESSES);
      const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue('erl', 'ca')) });
      const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: recorder().logger, tls: pki.nodeTls(pki.issue('ts', 'ca')) });
      try {
        assert.equal(await node.ping(ERL), 'pong');
        await bigBinaryBothWays(node, erl);
        // Still one connection, still TLS.
        assert.equal(await erl.eval(`{ok, I} = net_kernel:node_info('${TS}'), element(4, proplists:get_value(address, I)).`), 'tls');
      } finally {
        await node.stop();
        await erl.stop();
      }
    });
  });

  test(`OTP ${otp}: a wrong CA, a plain TCP peer and an expired certificate are refused both ways; the good connection stays`, async (t) => {
    if (!requireOtp(t, otp)) return;
    await withPki(async (pki) => {
      pki.ca('ca');
      pki.ca('wrong');
      const port = await freeSharedPort(ADDRESSES);
      const good = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue('erl', 'ca')) });
      const log = recorder();
      const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, connectTimeout: 3000, logger: log.logger, tls: pki.nodeTls(pki.issue('ts', 'ca')) });
      const others: ErlPeer[] = [];
      try {
        assert.equal(await node.ping(ERL), 'pong');
        const stillServing = async () => {
          assert.deepEqual(node.nodes(), [ERL]);
          assert.equal(await node.rpc(ERL, 'erlang', 'node', []), atom(ERL));
        };

        // A BEAM node whose certificate comes from another CA (and that trusts only that CA).
        const wrong = await ErlPeer.start({ name: 'wrong@127.0.0.4', cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue('wrongerl', 'wrong')) });
        others.push(wrong);
        const dialWrong = await node.tryConnect('wrong@127.0.0.4');
        assert.equal(dialWrong.ok, false);
        if (!dialWrong.ok) assert.equal(dialWrong.error.code, ErrorCode.TLS_HANDSHAKE, dialWrong.error.message);
        assert.equal(await wrong.eval(`net_adm:ping('${TS}').`), 'pang');
        assert.ok(log.lines.some((l) => /TLS handshake failed/.test(l)), `the refusal is logged: ${log.lines.join('\n')}`);
        await stillServing();

        // A plain TCP BEAM node.
        const plain = await ErlPeer.start({ name: 'plain@127.0.0.5', cookie: COOKIE, otp, epmdless: { port } });
        others.push(plain);
        const dialPlain = await node.tryConnect('plain@127.0.0.5');
        assert.equal(dialPlain.ok, false);
        // A plain node reads our ClientHello as the length of a handshake message and
        // waits for the rest, so the dial ends at the connect timeout, as erl's does.
        if (!dialPlain.ok) assert.ok([ErrorCode.TLS_HANDSHAKE, ErrorCode.TIMEOUT].includes(dialPlain.error.code as never), dialPlain.error.message);
        assert.equal(await plain.eval(`net_adm:ping('${TS}').`), 'pang');
        await stillServing();

        // A BEAM node from the right CA whose certificate has expired.
        await Promise.all(others.map((p) => p.stop()));
        others.length = 0;
        const expiredCert = pki.issue('expired', 'ca', 0);
        await new Promise((r) => setTimeout(r, 1100)); // notAfter is the second it was issued
        const expired = await ErlPeer.start({ name: 'expired@127.0.0.4', cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, expiredCert) });
        others.push(expired);
        const dialExpired = await node.tryConnect('expired@127.0.0.4');
        assert.equal(dialExpired.ok, false);
        if (!dialExpired.ok) assert.equal(dialExpired.error.code, ErrorCode.TLS_HANDSHAKE, dialExpired.error.message);
        if (!dialExpired.ok) assert.match(dialExpired.error.message, /expired/i);
        assert.equal(await expired.eval(`net_adm:ping('${TS}').`), 'pang');
        await stillServing();
      } finally {
        await node.stop();
        await Promise.all([good.stop(), ...others.map((p) => p.stop())]);
      }
    });
  });

  test(`OTP ${otp}: a plain TCP TS node and a TLS BEAM node refuse each other both ways`, async (t) => {
    if (!requireOtp(t, otp)) return;
    await withPki(async (pki) => {
      pki.ca('ca');
      const port = await freeSharedPort(ADDRESSES);
      const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue('erl', 'ca')) });
      const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, connectTimeout: 3000, logger: recorder().logger });
      try {
        assert.equal((await node.tryConnect(ERL)).ok, false);
        assert.equal(await erl.eval(`net_adm:ping('${TS}').`), 'pang');
        // The TS node still serves: another plain peer connects.
        const plain = await ErlPeer.start({ name: 'plain@127.0.0.4', cookie: COOKIE, otp, epmdless: { port } });
        try {
          assert.equal(await node.ping('plain@127.0.0.4'), 'pong');
        } finally {
          await plain.stop();
        }
      } finally {
        await node.stop();
        await erl.stop();
      }
    });
  });

  test(`OTP ${otp}: reloadTls keeps a live connection and new connections use the new certificate`, async (t) => {
    if (!requireOtp(t, otp)) return;
    await withPki(async (pki) => {
      pki.ca('ca1');
      pki.ca('ca2');
      const port = await freeSharedPort(ADDRESSES);
      const ca1 = pki.issue('ts1', 'ca1');
      const ca2 = pki.issue('ts2', 'ca2');
      // old trusts CA 1 only; fresh trusts CA 2 only; the TS node trusts both.
      const old = await ErlPeer.start({ name: 'old@127.0.0.2', cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue('old', 'ca1')) });
      const peers = [old];
      const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: recorder().logger, tls: pki.nodeTls(ca1, [ca1.ca, ca2.ca]) });
      try {
        assert.equal(await old.eval(`net_adm:ping('${TS}').`), 'pong');
        const fresh = await ErlPeer.start({ name: 'fresh@127.0.0.4', cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue('fresh', 'ca2')) });
        peers.push(fresh);
        assert.equal(await fresh.eval(`net_adm:ping('${TS}').`), 'pang', 'before the reload TS presents the CA 1 certificate');

        assert.throws(() => node.reloadTls({ cert: ca2.cert, key: ca1.key, ca: [ca2.ca] }), (e: unknown) => (e as { option?: string }).option === 'tls.key');
        node.reloadTls(pki.nodeTls(ca2, [ca1.ca, ca2.ca]));

        assert.equal(await fresh.eval(`net_adm:ping('${TS}').`), 'pong', 'accepting: the new certificate');
        assert.equal(await node.rpc('old@127.0.0.2', 'erlang', 'node', []), atom('old@127.0.0.2'), 'the live connection stayed up');
        assert.deepEqual(node.nodes().sort(), ['fresh@127.0.0.4', 'old@127.0.0.2']);
        // Dialling: a peer that trusts only CA 1 now refuses us.
        const stale = await ErlPeer.start({ name: 'stale@127.0.0.5', cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue('stale', 'ca1')) });
        peers.push(stale);
        assert.equal((await node.tryConnect('stale@127.0.0.5')).ok, false);
        assert.equal(await node.rpc('old@127.0.0.2', 'erlang', 'node', []), atom('old@127.0.0.2'));
      } finally {
        await node.stop();
        await Promise.all(peers.map((p) => p.stop()));
      }
    });
  });
}

test('DnsCluster over TLS: two TS nodes, an OTP 25 and an OTP 27 node form a full TLS mesh through dnsmasq', { timeout: 120_000 }, async (t) => {
  if (!requireDnsmasq(t) || !requireOtp(t, 25) || !requireOtp(t, 27)) return;
  await withPki(async (pki) => {
    pki.ca('ca');
    const NAME = 'tls-app.test';
    const tsHosts = ['127.0.0.2', '127.0.0.3'];
    const erlHosts: Array<[string, OtpRelease]> = [['127.0.0.4', 25], ['127.0.0.5', 27]];
    const all = [...tsHosts, ...erlHosts.map(([h]) => h)];
    const port = await freeSharedPort(all);
    const dns = await Dnsmasq.start();
    const peers: ErlPeer[] = [];
    const members: Array<{ node: Node; cluster: DnsClusterHandle }> = [];
    try {
      await dns.set(NAME, all);
      for (const [h, otp] of erlHosts) {
        const peer = await ErlPeer.start({ name: `app@${h}`, cookie: COOKIE, otp, epmdless: { port }, args: pki.erlArgs(otp, pki.issue(`erl${otp}`, 'ca')) });
        peers.push(peer);
        // The BEAM nodes poll DNS themselves, as Elixir's DNSCluster does.
        await peer.eval(`spawn(fun Poll() ->
            Ips = inet_res:lookup("${NAME}", in, a, [{nameservers, [{{127,0,0,1}, ${dns.port}}]}, {timeout, 500}]),
            [net_kernel:connect_node(list_to_atom("app@" ++ inet:ntoa(Ip))) || Ip <- Ips, Ip =/= {${h.replace(/\./g, ',')}}],
            timer:sleep(500), Poll() end), ok.`);
      }
      for (const h of tsHosts) {
        const node = await Node.start({ name: `app@${h}`, cookie: COOKIE, epmd: false, port, connectTimeout: 3000, logger: recorder().logger, tls: pki.nodeTls(pki.issue(`ts${h}`, 'ca')) });
        const cluster = await DnsCluster.new().withQuery(DnsQuery.query(NAME)).withInterval(500).withLogger(() => undefined)
          .withResolver(defaultResolver(node, { servers: [dns.server], timeoutMs: 500 })).start(node);
        members.push({ node, cluster });
      }
      const others = (self: string) => all.filter((h) => h !== self).map((h) => `app@${h}`).sort().join();
      const meshed = await eventually(async () => {
        for (const m of members) if (m.node.nodes().sort().join() !== others(m.node.name.slice(4))) return false;
        for (const [i, p] of peers.entries()) if ((await p.eval('lists:sort(nodes()).')).replace(/'|\[|\]/g, '') !== others(erlHosts[i][0])) return false;
        return true;
      }, 30_000);
      assert.ok(meshed, `full mesh: ${members.map((m) => `${m.node.name}: ${m.node.nodes().join(' ')}`).join(' | ')}`);
      // Every connection of the BEAM nodes is TLS.
      for (const p of peers) {
        assert.equal(await p.eval(`lists:usort([element(4, proplists:get_value(address, I)) || N <- nodes(), {ok, I} <- [net_kernel:node_info(N)]]).`), '[tls]');
      }
    } finally {
      for (const m of members) {
        await m.cluster.stop();
        await m.node.stop();
      }
      for (const p of peers) await p.stop();
      await dns.stop();
    }
  });
});
