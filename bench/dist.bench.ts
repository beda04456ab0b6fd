/**
 * The dist benchmark, each measure beside its BEAM anchor in the same run:
 *  1. connection setup (connect + handshake), median of 200: TS -> OTP and OTP -> OTP;
 *  2. resident memory of a TS node holding 100 idle connections;
 *  3. messages per second, {seq, N} and a 1 KiB binary: TS -> BEAM, BEAM -> TS, TS -> TS, BEAM -> BEAM;
 *  4. round-trip latency (median µs): TS <-> BEAM, TS <-> TS, BEAM <-> BEAM;
 *  5. DnsCluster: time to full mesh for 10, 30, 60 TS nodes (1 s interval), and one
 *     discovery round with 0 and with 50 hung addresses.
 * Writes results/dist.json. Only loopback addresses; every erl is stopped by PID.
 *
 * Caveat: the BEAM sides of 3 and 4 run as erl_eval expressions (interpreted), so
 * the BEAM -> BEAM figures understate compiled Erlang.
 */
import { fork } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { atom, DnsCluster, DnsQuery, Node, defaultResolver, silentLogger, tuple, type Term, type Tuple } from '../src/index.js';
import { DemoDnsServer } from '../examples/demo/dns-server.js';
import { ErlPeer, otpAvailability } from '../test/support/erl-peer.js';
import { freeSharedPort } from '../test/support/ports.js';

const COOKIE = 'bench-cookie';
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connectionSetup(erlB: ErlPeer, erlC: ErlPeer, ts: Node): Promise<void> {
  const tsTimes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = process.hrtime.bigint();
    if (!(await ts.connect(erlB.name))) throw new Error('connect failed');
    tsTimes.push(Number(process.hrtime.bigint() - t0) / 1000);
    await ts.disconnect(erlB.name);
    await sleep(20);
  }
  const otp = await erlC.eval(
    `Ts = [begin {T, true} = timer:tc(net_kernel, connect_node, ['${erlB.name}']), erlang:disconnect_node('${erlB.name}'), timer:sleep(20), T end || _ <- lists:seq(1, 200)], lists:nth(100, lists:sort(Ts)).`,
    120_000,
  );
  results.connectionSetupMedianUs = { tsToOtp: Math.round(median(tsTimes)), otpToOtp: Number(otp) };
  console.log('\nconnection setup, median of 200 (µs)');
  console.table([{ 'TS -> OTP': Math.round(median(tsTimes)), 'OTP -> OTP': Number(otp) }]);
}

/** 100 TS nodes in a child process; this process's node connects to all and we read our RSS. */
async function idleConnections(port: number): Promise<void> {
  const hosts = Array.from({ length: 100 }, (_, i) => `127.0.2.${i + 1}`);
  const child = fork(new URL('./dist-peers.ts', import.meta.url), [String(port), COOKIE, ...hosts], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`peer process exited ${code}`)));
  });
  try {
    const node = await Node.start({ name: 'mem@127.0.2.200', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    global.gc?.();
    await sleep(200);
    const before = process.memoryUsage().rss;
    for (const h of hosts) if (!(await node.connect(`peer@${h}`))) throw new Error(`connect to ${h} failed`);
    await sleep(1000);
    global.gc?.();
    await sleep(200);
    const after = process.memoryUsage().rss;
    results.idleConnections = { connections: node.nodes().length, rssMiB: +(after / 2 ** 20).toFixed(1), addedMiB: +((after - before) / 2 ** 20).toFixed(1) };
    console.log('\nresident memory with 100 idle connections');
    console.table([results.idleConnections]);
    await node.stop();
  } finally {
    child.kill('SIGKILL');
  }
}

async function throughput(erlB: ErlPeer, erlC: ErlPeer, ts: Node, ts2: Node): Promise<void> {
  const N = 100_000;
  const payloads: Record<string, { ts: (i: number) => Term; erl: string }> = {
    'seq': { ts: (i) => tuple(atom('seq'), i), erl: '{seq, I}' },
    '1KiB binary': { ts: () => kib, erl: 'Bin' },
  };
  const kib = Buffer.alloc(1024, 7);
  // A sink on B that counts N messages then reports to whoever asks.
  await erlB.eval(`catch unregister(sink), register(sink, spawn(fun Loop() -> receive {count, N, From} -> C = fun Cnt(0) -> ok; Cnt(K) -> receive _ -> Cnt(K - 1) end end, C(N), From ! counted, Loop() end end)), ok.`);
  const rows: Record<string, Record<string, number>> = {};
  for (const [name, p] of Object.entries(payloads)) {
    rows[name] = {};
    // TS -> BEAM
    const me = ts.spawn();
    me.send({ name: 'sink', node: erlB.name }, tuple(atom('count'), N, me.pid));
    await sleep(50);
    let t0 = performance.now();
    for (let i = 0; i < N; i++) if (!me.send({ name: 'sink', node: erlB.name }, p.ts(i))) await ts.drain(erlB.name);
    await me.receive(60_000);
    rows[name]['TS -> BEAM'] = Math.round(N / ((performance.now() - t0) / 1000));
    me.exit();
    // BEAM -> TS
    const sink = ts.spawn({ name: 'ts_sink' });
    t0 = performance.now();
    await erlB.eval(`Bin = binary:copy(<<7>>, 1024), spawn(fun() -> [{ts_sink, '${ts.name}'} ! ${p.erl} || I <- lists:seq(1, ${N})] end), ok.`);
    for (let i = 0; i < N; i++) await sink.receive(60_000);
    rows[name]['BEAM -> TS'] = Math.round(N / ((performance.now() - t0) / 1000));
    sink.exit();
    // TS -> TS (two nodes in this process, so they share one core's event loop)
    const sink2 = ts2.spawn({ name: 'ts_sink2' });
    const from = ts.spawn();
    t0 = performance.now();
    for (let i = 0; i < N; i++) if (!from.send({ name: 'ts_sink2', node: ts2.name }, p.ts(i))) await ts.drain(ts2.name);
    for (let i = 0; i < N; i++) await sink2.receive(60_000);
    rows[name]['TS -> TS'] = Math.round(N / ((performance.now() - t0) / 1000));
    sink2.exit();
    from.exit();
    // BEAM -> BEAM
    const us = await erlC.eval(
      `Bin = binary:copy(<<7>>, 1024), {sink, '${erlB.name}'} ! {count, ${N}, self()}, timer:sleep(50), {T, _} = timer:tc(fun() -> [{sink, '${erlB.name}'} ! ${p.erl} || I <- lists:seq(1, ${N})], receive counted -> ok end end), T.`,
      120_000,
    );
    rows[name]['BEAM -> BEAM'] = Math.round(N / (Number(us) / 1e6));
  }
  results.messagesPerSecond = rows;
  console.log('\nmessages per second (100,000 each)');
  console.table(rows);
}

async function latency(erlB: ErlPeer, erlC: ErlPeer, ts: Node, ts2: Node): Promise<void> {
  const K = 2000;
  await erlB.eval(`catch unregister(echo), register(echo, spawn(fun Loop() -> receive {ping, From, X} -> From ! {pong, X}, Loop() end end)), ok.`);
  const echo2 = ts2.spawn({ name: 'echo' });
  void (async () => {
    for (;;) {
      const m = (await echo2.receive().catch(() => undefined)) as Tuple | undefined;
      if (m === undefined) return;
      echo2.send(m[1] as never, tuple(atom('pong'), m[2]));
    }
  })();
  const rtt = async (dest: { name: string; node: string }) => {
    const me = ts.spawn();
    const times: number[] = [];
    for (let i = 0; i < K; i++) {
      const t0 = process.hrtime.bigint();
      me.send(dest, tuple(atom('ping'), me.pid, i));
      await me.receive();
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    me.exit();
    return Math.round(median(times));
  };
  const tsBeam = await rtt({ name: 'echo', node: erlB.name });
  const tsTs = await rtt({ name: 'echo', node: ts2.name });
  const beamBeam = await erlC.eval(
    `Ts = [begin {T, _} = timer:tc(fun() -> {echo, '${erlB.name}'} ! {ping, self(), I}, receive {pong, I} -> ok end end), T end || I <- lists:seq(1, ${K})], lists:nth(${K / 2}, lists:sort(Ts)).`,
    120_000,
  );
  results.roundTripMedianUs = { 'TS <-> BEAM': tsBeam, 'TS <-> TS': tsTs, 'BEAM <-> BEAM': Number(beamBeam) };
  console.log(`\nround-trip latency, median of ${K} (µs)`);
  console.table([results.roundTripMedianUs]);
  echo2.exit();
}

async function clusterConvergence(): Promise<void> {
  const rows: Array<Record<string, number | string>> = [];
  const dns = await DemoDnsServer.start('127.0.0.1', 0);
  try {
    for (const n of [10, 30, 60]) {
      const hosts = Array.from({ length: n }, (_, i) => `127.0.3.${i + 1}`);
      const port = await freeSharedPort(hosts);
      dns.records.set('mesh.bench.test', hosts);
      const nodes: Node[] = [];
      const handles = [];
      const t0 = performance.now();
      for (const h of hosts) {
        const node = await Node.start({ name: `m@${h}`, cookie: COOKIE, epmd: false, port, logger: silentLogger });
        nodes.push(node);
        handles.push(
          await DnsCluster.new().withQuery(DnsQuery.query('mesh.bench.test')).withInterval(1000).withLogger(() => undefined)
            .withResolver(defaultResolver(node, { servers: [dns.server] })).start(node),
        );
      }
      const deadline = t0 + 60_000;
      while (performance.now() < deadline && !nodes.every((x) => x.nodes().length === n - 1)) await sleep(20);
      const ms = Math.round(performance.now() - t0);
      const meshed = nodes.every((x) => x.nodes().length === n - 1);
      rows.push({ nodes: n, 'ms to full mesh': meshed ? ms : `not meshed after ${ms}` });
      for (const h of handles) await h.stop();
      for (const x of nodes) await x.stop();
    }
    // One round with 0 and with 50 hung addresses (accept TCP, never answer).
    const real = ['127.0.4.1', '127.0.4.2'];
    const hung = Array.from({ length: 50 }, (_, i) => `127.0.5.${i + 1}`);
    const port = await freeSharedPort([...real, ...hung]);
    const sockets = new Set<Socket>();
    const servers: Server[] = [];
    for (const h of hung) {
      const s = createServer((sock) => sockets.add(sock));
      await new Promise<void>((r) => s.listen(port, h, () => r()));
      servers.push(s);
    }
    const a = await Node.start({ name: `r@${real[0]}`, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const b = await Node.start({ name: `r@${real[1]}`, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const round: Record<string, number> = {};
    for (const withHung of [0, 50]) {
      dns.records.set('round.bench.test', [...real, ...hung.slice(0, withHung)]);
      await a.disconnect(b.name);
      await sleep(100);
      const c = await DnsCluster.new().withQuery('round.bench.test').withInterval(null).withConnectTimeout(2000).withLogger(() => undefined)
        .withResolver(defaultResolver(a, { servers: [dns.server] })).withName(`round${withHung}`).start(a);
      const t0 = performance.now();
      await c.discoverNodes(30_000); // the start round may still be running: this waits for a fresh one
      round[`${withHung} hung addresses (ms)`] = Math.round(c.lastDiscovery?.durationMs ?? performance.now() - t0);
      await c.stop();
    }
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    await a.stop();
    await b.stop();
    results.cluster = { convergence: rows, discoveryRound: round, connectTimeoutMs: 2000 };
    console.log('\nDnsCluster: start to full mesh (1 s interval)');
    console.table(rows);
    console.log('one discovery round (connect timeout 2000 ms)');
    console.table([round]);
  } finally {
    await dns.stop();
  }
}

async function main(): Promise<void> {
  // Memory first, before other phases grow the heap.
  await idleConnections(await freeSharedPort(['127.0.2.1', '127.0.2.200']));
  const haveErl = otpAvailability(25);
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
  if (haveErl.ok) {
    const erlB = await ErlPeer.start({ name: 'b@127.0.0.2', cookie: COOKIE, epmdless: { port } });
    const erlC = await ErlPeer.start({ name: 'c@127.0.0.4', cookie: COOKIE, epmdless: { port } });
    const ts = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const ts2 = await Node.start({ name: 'ts2@127.0.0.5', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      results.otp = (await erlB.eval('erlang:system_info(otp_release).')).replace(/"/g, '');
      await connectionSetup(erlB, erlC, ts);
      // Settle after the connect/disconnect churn before measuring messages.
      await sleep(500);
      if ((await ts.ping(erlB.name)) !== 'pong' || (await ts.ping(ts2.name)) !== 'pong') throw new Error('peers not reachable');
      await erlC.eval(`pong = net_adm:ping('${erlB.name}').`);
      await throughput(erlB, erlC, ts, ts2);
      await latency(erlB, erlC, ts, ts2);
    } finally {
      await ts.stop();
      await ts2.stop();
      await erlB.stop();
      await erlC.stop();
    }
  } else {
    console.log(`skipping the BEAM comparisons: ${haveErl.reason}`);
  }
  await clusterConvergence();
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('results/dist.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
