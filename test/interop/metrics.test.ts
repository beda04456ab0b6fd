// Traffic counters against a real erl node: a ping and a few messages each way move
// node.stats() (bytes and messages in and out, busy sends), per peer and in total,
// the total keeps what a closed connection carried, and the status server's /metrics
// shows the same numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSpec } from '../../src/cluster/dns-cluster.js';
import { startStatusServer, stopStatusServer } from '../../src/cli/health.js';
import { StartMonitor } from '../../src/cli/monitor.js';
import { atom, DnsCluster, Node, silentLogger, tuple, type ConnectionStats } from '../../src/index.js';
import { ErlPeer, requireOtp } from '../support/erl-peer.js';
import { eventually, freePort, freeSharedPort, loopbackAddresses } from '../support/ports.js';

const COOKIE = 'metrics-cookie';

/** The value of one series in a Prometheus text page. */
function metric(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line !== undefined, `no ${series} in\n${page}`);
  return Number(line.slice(series.length + 1));
}

test('a ping and messages to a real erl node move the traffic counters, and /metrics shows them', { timeout: 60_000 }, async (t) => {
  if (!requireOtp(t, 25)) return;
  const [tsHost, erlHost] = loopbackAddresses(2);
  const TS = `ts@${tsHost}`;
  const ERL = `erl@${erlHost}`;
  const port = await freeSharedPort([tsHost, erlHost]);
  const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp: 25, epmdless: { port } });
  let node: Node | undefined;
  let server: Awaited<ReturnType<typeof startStatusServer>> | undefined;
  try {
    // A busy limit of one byte: every send finds its own bytes still queued, so each is a busy event.
    node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, busyLimit: 1, logger: silentLogger });
    const zero: ConnectionStats = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, busyEvents: 0 };
    assert.deepEqual(node.stats(), { total: zero, peers: {} });

    assert.equal(await node.ping(ERL), 'pong');
    const inbox = node.spawn({ name: 'inbox' });
    await erl.eval(`[{inbox, '${TS}'} ! {n, I} || I <- lists:seq(1, 5)], ok.`);
    for (let i = 0; i < 5; i++) await inbox.receive(5000);
    await erl.eval(`register(sink, spawn(fun() -> receive stop -> ok end end)), ok.`);
    let busySends = 0;
    for (let i = 0; i < 5; i++) if (!node.send({ name: 'sink', node: ERL }, tuple(atom('m'), i))) busySends++;
    assert.equal(busySends, 5, 'with busyLimit 1 every send reports busy');
    // The sends are flushed on the next turn of the event loop, and the eval goes another way: wait for them.
    const queued = () => erl.eval(`element(2, erlang:process_info(whereis(sink), message_queue_len)).`);
    assert.ok(await eventually(async () => (await queued()) === '5', 10_000), 'erl got the 5 messages');

    const s = node.stats();
    assert.deepEqual(Object.keys(s.peers), [ERL]);
    assert.deepEqual(s.peers[ERL], s.total, 'one connection: its counters are the total');
    // The ping's call and its answer, then 5 messages each way (net_kernel may add a few of its own).
    assert.ok(s.total.messagesOut >= 6, `messagesOut ${s.total.messagesOut}`);
    assert.ok(s.total.messagesIn >= 6, `messagesIn ${s.total.messagesIn}`);
    assert.ok(s.total.busyEvents >= 5, `busyEvents ${s.total.busyEvents}`);
    // Each message is at least its 4-byte length prefix and a control tuple.
    assert.ok(s.total.bytesOut > 6 * 8, `bytesOut ${s.total.bytesOut}`);
    assert.ok(s.total.bytesIn > 6 * 8, `bytesIn ${s.total.bytesIn}`);
    // erl saw at least what we counted (its socket counters include the handshake too).
    const [recvOct, sendOct] = JSON.parse(await erl.eval(
      `[{_, P}] = [X || X = {N, _} <- erlang:system_info(dist_ctrl), N =:= '${TS}'], {ok, [{recv_oct, R}, {send_oct, S}]} = inet:getstat(P, [recv_oct, send_oct]), [R, S].`,
    )) as [number, number];
    assert.ok(recvOct >= s.total.bytesOut, `erl received ${recvOct} bytes, we sent ${s.total.bytesOut}`);
    assert.ok(sendOct >= s.total.bytesIn, `erl sent ${sendOct} bytes, we received ${s.total.bytesIn}`);

    // /metrics, from the status server of `nessie start`.
    const cluster = await startSpec(DnsCluster.new().withInterval(null).withLogger(() => undefined), node);
    const monitor = new StartMonitor({ lookup: false }, { version: 'test', name: TS, queries: [] });
    monitor.attach(node, cluster);
    const statusPort = await freePort(tsHost);
    server = await startStatusServer(monitor, tsHost, statusPort);
    const page = await (await fetch(`http://${tsHost}:${statusPort}/metrics`)).text();
    const now = node.stats().total;
    assert.ok(metric(page, 'nessie_dist_sent_messages_total') >= s.total.messagesOut && metric(page, 'nessie_dist_sent_messages_total') <= now.messagesOut);
    assert.ok(metric(page, 'nessie_dist_received_messages_total') >= s.total.messagesIn);
    assert.ok(metric(page, 'nessie_dist_sent_bytes_total') >= s.total.bytesOut);
    assert.ok(metric(page, 'nessie_dist_received_bytes_total') >= s.total.bytesIn);
    assert.ok(metric(page, 'nessie_dist_busy_total') >= 5);
    assert.ok(metric(page, `nessie_dist_peer_sent_messages_total{peer="${ERL}"}`) >= s.total.messagesOut);
    assert.match(page, /^# TYPE nessie_dist_sent_bytes_total counter$/m);

    // The connection goes: its traffic stays in the total, and it is no longer a peer.
    await node.disconnect(ERL);
    assert.ok(await eventually(() => Object.keys(node!.stats().peers).length === 0, 10_000), 'peer gone from stats');
    const after = node.stats().total;
    assert.ok(after.messagesOut >= s.total.messagesOut && after.bytesIn >= s.total.bytesIn && after.busyEvents >= 5, JSON.stringify(after));
    const later = await (await fetch(`http://${tsHost}:${statusPort}/metrics`)).text();
    assert.ok(metric(later, 'nessie_dist_sent_messages_total') >= s.total.messagesOut);
    assert.ok(!later.includes(`peer="${ERL}"`), 'no per-peer series for a closed connection');
    await cluster.stop();
  } finally {
    if (server !== undefined) await stopStatusServer(server);
    await node?.stop();
    await erl.stop();
  }
});
