/**
 * The dist benchmark, each measure beside its BEAM anchor in the same run, with the
 * ratio TS / BEAM beside every figure (throughput: >= 1 is as fast as BEAM or faster;
 * times, bytes and memory: <= 1 is as good as BEAM or better):
 *  1. resident memory per idle connection: a TS node and an OTP node, each in a process
 *     of its own, connect to the same 200 idle TS peers; RSS after minus before, / 200;
 *  2. connection setup (connect + handshake), median of 200: TS -> OTP and OTP -> OTP;
 *  3. messages per second, {seq, N} and a 1 KiB binary, 100,000 each: TS -> BEAM,
 *     BEAM -> TS, TS -> TS, against BEAM -> BEAM; medians of ROUNDS interleaved rounds;
 *  4. bytes per message on the wire, TS -> BEAM against BEAM -> BEAM (both use the atom
 *     cache on send for the control message's atoms);
 *  5. round-trip latency (median µs): TS <-> BEAM, TS <-> TS, against BEAM <-> BEAM;
 *  6. DnsCluster: time to full mesh for 10, 30, 60 TS nodes (1 s interval), and one
 *     discovery round with 0 and with 50 hung addresses (no BEAM anchor).
 * The BEAM side is dist_bench.erl, compiled with erlc into a temp dir and loaded with
 * -pa. Writes results/dist.json. Only loopback addresses; every erl is stopped by PID.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node as TsNode, Term, Tuple } from '../src/index.js';
import { DemoDnsServer } from '../examples/demo/dns-server.js';
import { ErlPeer, otpAvailability } from '../test/support/erl-peer.js';
import { freeSharedPort } from '../test/support/ports.js';
import { loadLine, machineLine } from './machine.js';

// NESSIE_SRC=/other/checkout/src measures another checkout's code (before/after), as calls.bench.ts does.
const src = process.env.NESSIE_SRC ?? new URL('../src/', import.meta.url).pathname;
const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
const { atom, DnsCluster, DnsQuery, Node, defaultResolver, silentLogger, tuple } = (await import(`${src}/index.${ext}`)) as typeof import('../src/index.js');

const COOKIE = 'bench-cookie';
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ratio = (ts: number, beam: number) => Number((ts / beam).toFixed(2));
/** The compiled BEAM side: erlc into a temp dir, removed at exit. */
const beamDir = mkdtempSync(join(tmpdir(), 'nessie-dist-bench-'));
process.once('exit', () => rmSync(beamDir, { recursive: true, force: true }));
execFileSync('erlc', ['-o', beamDir, new URL('dist_bench.erl', import.meta.url).pathname]);
const startErl = (name: string, port: number) => ErlPeer.start({ name, cookie: COOKIE, epmdless: { port }, args: ['-pa', beamDir] });

// Run by compiled.mjs, this file is JavaScript and so is its child.
const compiled = import.meta.url.endsWith('.js');
function forkPeers(args: string[]): ReturnType<typeof fork> {
  const child = new URL(compiled ? './dist-peers.js' : './dist-peers.ts', import.meta.url);
  return fork(child, args, { execArgv: compiled ? ['--expose-gc'] : ['--import', 'tsx', '--expose-gc'], stdio: 'inherit' });
}

function message<T>(child: ReturnType<typeof fork>): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** 200 idle TS peers in a child process; a TS node and an OTP node each connect to all of them. */
async function idleConnections(): Promise<void> {
  const COUNT = 200;
  const hosts = Array.from({ length: COUNT }, (_, i) => `127.0.2.${i + 1}`);
  const port = await freeSharedPort([...hosts, '127.0.6.1', '127.0.6.2']);
  const peerNames = hosts.map((h) => `peer@${h}`);
  const peers = forkPeers(['peers', String(port), COOKIE, ...hosts]);
  try {
    await message(peers);
    const measurer = forkPeers(['measure', String(port), COOKIE, 'mem@127.0.6.1', ...peerNames]);
    const ts = await message<{ before: number; after: number; connected: number }>(measurer);
    if (ts.connected !== COUNT) throw new Error(`TS connected to ${ts.connected} of ${COUNT}`);
    const erl = await startErl('mem@127.0.6.2', port);
    let beam: { before: number; after: number; connected: number };
    try {
      const pid = Number(await erl.eval('list_to_integer(os:getpid()).'));
      const gcAll = `[erlang:garbage_collect(P) || P <- processes()], ok.`;
      await sleep(500);
      await erl.eval(gcAll);
      const before = rssOf(pid);
      const list = `[${peerNames.map((n) => `'${n}'`).join(',')}]`;
      const connected = Number(await erl.eval(`dist_bench:connect_all(${list}).`, 120_000));
      await sleep(1000);
      await erl.eval(gcAll);
      await sleep(200);
      beam = { before, after: rssOf(pid), connected };
    } finally {
      await erl.stop();
    }
    if (beam.connected !== COUNT) throw new Error(`OTP connected to ${beam.connected} of ${COUNT}`);
    const perTs = (ts.after - ts.before) / COUNT;
    const perBeam = (beam.after - beam.before) / COUNT;
    results.idleConnections = {
      connections: COUNT,
      tsBytesPerConnection: Math.round(perTs),
      beamBytesPerConnection: Math.round(perBeam),
      ratio: ratio(perTs, perBeam),
      tsRssMiB: { before: +(ts.before / 2 ** 20).toFixed(1), after: +(ts.after / 2 ** 20).toFixed(1) },
      beamRssMiB: { before: +(beam.before / 2 ** 20).toFixed(1), after: +(beam.after / 2 ** 20).toFixed(1) },
    };
    console.log(`\nresident memory per idle connection (${COUNT} connections, RSS after - before, / ${COUNT}); ${loadLine()}`);
    console.table([{ 'TS (KB)': +(perTs / 1000).toFixed(1), 'OTP (KB)': +(perBeam / 1000).toFixed(1), 'TS / OTP (<= 1 is as lean)': ratio(perTs, perBeam) }]);
  } finally {
    peers.kill('SIGKILL');
  }
}

async function connectionSetup(erlB: ErlPeer, erlC: ErlPeer, ts: TsNode): Promise<void> {
  const tsTimes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = process.hrtime.bigint();
    if (!(await ts.connect(erlB.name))) throw new Error('connect failed');
    tsTimes.push(Number(process.hrtime.bigint() - t0) / 1000);
    await ts.disconnect(erlB.name);
    await sleep(20);
  }
  const otp = Number(await erlC.eval(`dist_bench:connect_median('${erlB.name}', 200).`, 120_000));
  const tsUs = Math.round(median(tsTimes));
  results.connectionSetupMedianUs = { tsToOtp: tsUs, otpToOtp: otp, ratio: ratio(tsUs, otp) };
  console.log(`\nconnection setup, median of 200 (µs); ${loadLine()}`);
  console.table([{ 'TS -> OTP': tsUs, 'OTP -> OTP': otp, 'TS / OTP (<= 1 is as fast)': ratio(tsUs, otp) }]);
}

async function throughput(erlB: ErlPeer, erlC: ErlPeer, ts: TsNode, ts2: TsNode): Promise<void> {
  const N = 100_000;
  const kib = Buffer.alloc(1024, 7);
  const payloads: Record<string, { ts: (i: number) => Term; erl: string }> = {
    'seq': { ts: (i) => tuple(atom('seq'), i), erl: 'seq' },
    '1KiB binary': { ts: () => kib, erl: 'kib' },
  };
  await erlB.eval('dist_bench:start_sink().');
  const runs: Record<string, Record<string, number[]>> = {};
  const add = (payload: string, dir: string, perSecond: number) => ((runs[payload] ??= {})[dir] ??= []).push(perSecond);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, p] of Object.entries(payloads)) {
      // TS -> BEAM
      const me = ts.spawn();
      me.send({ name: 'sink', node: erlB.name }, tuple(atom('count'), N, me.pid));
      await sleep(50);
      let t0 = performance.now();
      for (let i = 0; i < N; i++) if (!me.send({ name: 'sink', node: erlB.name }, p.ts(i))) await ts.drain(erlB.name);
      await me.receive(60_000);
      add(name, 'TS -> BEAM', N / ((performance.now() - t0) / 1000));
      me.exit();
      // BEAM -> TS
      const sink = ts.spawn({ name: 'ts_sink' });
      t0 = performance.now();
      await erlB.eval(`dist_bench:spawn_send_n({ts_sink, '${ts.name}'}, ${p.erl}, ${N}).`);
      for (let i = 0; i < N; i++) await sink.receive(60_000);
      add(name, 'BEAM -> TS', N / ((performance.now() - t0) / 1000));
      sink.exit();
      // TS -> TS (two nodes in this process, so they share one core's event loop)
      const sink2 = ts2.spawn({ name: 'ts_sink2' });
      const from = ts.spawn();
      t0 = performance.now();
      for (let i = 0; i < N; i++) if (!from.send({ name: 'ts_sink2', node: ts2.name }, p.ts(i))) await ts.drain(ts2.name);
      for (let i = 0; i < N; i++) await sink2.receive(60_000);
      add(name, 'TS -> TS', N / ((performance.now() - t0) / 1000));
      sink2.exit();
      from.exit();
      // BEAM -> BEAM, compiled
      const us = Number(await erlC.eval(`dist_bench:beam_to_beam('${erlB.name}', ${p.erl}, ${N}).`, 120_000));
      add(name, 'BEAM -> BEAM', N / (us / 1e6));
    }
  }
  const rows: Record<string, Record<string, number>> = {};
  for (const [name, dirs] of Object.entries(runs)) {
    const anchor = median(dirs['BEAM -> BEAM']);
    rows[name] = { 'BEAM -> BEAM': Math.round(anchor) };
    for (const dir of ['TS -> BEAM', 'BEAM -> TS', 'TS -> TS']) {
      rows[name][dir] = Math.round(median(dirs[dir]));
      rows[name][`${dir} / BEAM`] = ratio(median(dirs[dir]), anchor);
    }
  }
  results.messagesPerSecond = rows;
  console.log(`\nmessages per second (${N.toLocaleString('en')} each), median of ${ROUNDS} interleaved rounds, ratio to BEAM -> BEAM (>= 1 is as fast); ${loadLine()}`);
  console.table(rows);
}

/** Bytes per message on the wire: TS -> BEAM (our connection's counter) against BEAM -> BEAM (the dist port's send_oct). */
async function bytesPerMessage(erlB: ErlPeer, erlC: ErlPeer, ts: TsNode): Promise<void> {
  const N = 20_000;
  const kib = Buffer.alloc(1024, 7);
  const rows: Record<string, Record<string, number>> = {};
  await erlB.eval('dist_bench:start_sink().');
  for (const [name, erl, make] of [['seq', 'seq', (i: number) => tuple(atom('seq'), i)], ['1KiB binary', 'kib', () => kib]] as const) {
    const me = ts.spawn();
    const before = ts.stats().peers[erlB.name].bytesOut;
    me.send({ name: 'sink', node: erlB.name }, tuple(atom('count'), N, me.pid));
    for (let i = 0; i < N; i++) if (!me.send({ name: 'sink', node: erlB.name }, make(i))) await ts.drain(erlB.name);
    await me.receive(60_000);
    const tsBytes = (ts.stats().peers[erlB.name].bytesOut - before) / N;
    me.exit();
    const beamBytes = Number(await erlC.eval(`dist_bench:bytes_per_message('${erlB.name}', ${erl}, ${N}).`, 120_000));
    rows[name] = { 'TS -> BEAM': +tsBytes.toFixed(1), 'BEAM -> BEAM': +beamBytes.toFixed(1), 'TS / BEAM': ratio(tsBytes, beamBytes) };
  }
  results.bytesPerMessage = rows;
  console.log(`\nbytes per message on the wire, framing included; ${loadLine()}`);
  console.table(rows);
}

async function latency(erlB: ErlPeer, erlC: ErlPeer, ts: TsNode, ts2: TsNode): Promise<void> {
  const K = 2000;
  await erlB.eval('dist_bench:start_echo().');
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
    return median(times);
  };
  const runs = { 'TS <-> BEAM': [] as number[], 'TS <-> TS': [] as number[], 'BEAM <-> BEAM': [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs['TS <-> BEAM'].push(await rtt({ name: 'echo', node: erlB.name }));
    runs['TS <-> TS'].push(await rtt({ name: 'echo', node: ts2.name }));
    runs['BEAM <-> BEAM'].push(Number(await erlC.eval(`dist_bench:rtt_median('${erlB.name}', ${K}).`, 120_000)));
  }
  const anchor = median(runs['BEAM <-> BEAM']);
  const row: Record<string, number> = { 'BEAM <-> BEAM': Math.round(anchor) };
  for (const k of ['TS <-> BEAM', 'TS <-> TS'] as const) {
    row[k] = Math.round(median(runs[k]));
    row[`${k} / BEAM`] = ratio(median(runs[k]), anchor);
  }
  results.roundTripMedianUs = row;
  console.log(`\nround-trip latency, median µs of ${K}, median of ${ROUNDS} interleaved rounds, ratio to BEAM <-> BEAM (<= 1 is as fast); ${loadLine()}`);
  console.table([row]);
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
      const nodes: TsNode[] = [];
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
    console.log(`\nDnsCluster: start to full mesh (1 s interval; no BEAM anchor: BEAM has no DNS clustering of its own); ${loadLine()}`);
    console.table(rows);
    console.log('one discovery round (connect timeout 2000 ms)');
    console.table([round]);
  } finally {
    await dns.stop();
  }
}

async function main(): Promise<void> {
  const machine = machineLine();
  console.log(machine);
  results.machine = machine;
  const haveErl = otpAvailability(25);
  if (haveErl.ok) {
    // Memory first, before other phases grow the heap.
    await idleConnections();
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
    const erlB = await startErl('b@127.0.0.2', port);
    const erlC = await startErl('c@127.0.0.4', port);
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
      await bytesPerMessage(erlB, erlC, ts);
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
  results.load = loadLine();
  // Beside the source, also when compiled.mjs runs this from a temp dir.
  const resultsDir = join(process.env.NESSIE_BENCH_DIR ?? new URL('.', import.meta.url).pathname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'dist.json'), JSON.stringify(results, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
