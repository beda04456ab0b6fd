/**
 * Calls, round trips and messages against BEAM, each beside its BEAM <-> BEAM anchor
 * measured in the same round: sequential gen_server calls TS -> BEAM, 32 concurrent TS
 * callers, calls BEAM -> TS (a `node.serve` gen_server), round-trip latency (p50, p99)
 * of a ping-pong both ways, with a raw Node socket ping-pong as the floor, 20,000
 * small messages TS -> BEAM, and 2,000 messages of a 64 KiB binary each way (two
 * fragments each). The call and round-trip rows are measured again for a second TS node
 * started with `busyWait` (BUSY_WAIT_US, default 100 µs): see src/distribution/busy-wait.ts
 * for why it matters on virtual machines. Rounds are interleaved (TS, then BEAM, then TS...); each figure is
 * the median of the rounds, printed with its ratio to the anchor and the target of
 * issue 10 (throughput: TS / BEAM >= 1.0; latency: TS / BEAM <= 1.1).
 *
 * The BEAM side is compiled code (calls_bench.erl, compiled with erlc into a temp dir
 * and loaded with -pa): a real gen_server, and timed loops in compiled functions.
 *
 * `NESSIE_SRC=/path/to/other/src npm run bench:calls` measures another checkout's code
 * with the same script, so a change can be compared with what it replaced (run both,
 * alternating, and compare the ratios). Only loopback addresses; erl and the raw-socket
 * echo child are stopped by PID, the temp dir removed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErlPeer, otpAvailability } from '../test/support/erl-peer.js';
import { freeSharedPort } from '../test/support/ports.js';
import { loadLine, machineLine } from './machine.js';

const src = process.env.NESSIE_SRC ?? new URL('../src/', import.meta.url).pathname;
// Run by compiled.mjs, this file is JavaScript and so is the src it imports.
const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
const srcLabel = process.env.NESSIE_SRC_LABEL ?? src;
const { Node, atom, silentLogger, tuple, Tuple } = (await import(`${src}/index.${ext}`)) as typeof import('../src/index.js');

const COOKIE = 'calls-bench';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SEQ = 3000;
const CONC_TOTAL = 20_000;
const CONC = 32;
const RTT = 2000;
const RTT_CHUNK = 200;
const MSGS = 20_000;
const BIG = 2000;
const BUSY_WAIT_US = Number(process.env.BUSY_WAIT_US ?? 100);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

type Kind = 'rate' | 'latency';
interface Row {
  kind: Kind;
  ts: number[];
  beam: number[];
}

async function main(): Promise<void> {
  console.log(machineLine());
  const avail = otpAvailability(25);
  if (!avail.ok) throw new Error(`needs OTP 25: ${avail.reason}`);
  const dir = mkdtempSync(join(tmpdir(), 'nessie-calls-'));
  execFileSync('erlc', ['-o', dir, new URL('calls_bench.erl', import.meta.url).pathname]);
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
  const peerArgs = { cookie: COOKIE, epmdless: { port }, args: ['-pa', dir] };
  const b = await ErlPeer.start({ name: 'b@127.0.0.2', ...peerArgs });
  const c = await ErlPeer.start({ name: 'c@127.0.0.4', ...peerArgs });
  const ts = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
  // The same rows again for a node that busy-waits after its writes, as BEAM's schedulers
  // do. It is idle while `ts` is measured (its window closes BUSY_WAIT_US after its last
  // write) and the other way round, so neither lends the other a spinning event loop.
  const tsBusy = await Node.start({ name: 'tsbusy@127.0.0.5', cookie: COOKIE, epmd: false, port, logger: silentLogger, busyWait: BUSY_WAIT_US });
  const raw = await RawEcho.start('127.0.0.3');
  const rows: Record<string, Row> = {};
  const add = (row: string, kind: Kind, side: 'ts' | 'beam', value: number) => {
    rows[row] ??= { kind, ts: [], beam: [] };
    rows[row][side].push(value);
  };
  try {
    await b.eval('calls_bench:start().');
    // The TS side's servers, for BEAM -> TS: a gen_server echoing every call, and a pong.
    for (const node of [ts, tsBusy]) {
      await node.serve('ts_echo', { handleCall: (request) => request });
      const pong = node.spawn({ name: 'ts_pong' });
      void pong.serve((m) => {
        if (m instanceof Tuple && m.length === 3 && m[0] === atom('ping')) pong.send(m[1] as never, tuple(atom('pong'), m[2]));
      });
      if ((await node.ping(b.name)) !== 'pong') throw new Error('b not reachable');
    }
    await c.eval(`pong = net_adm:ping('${b.name}'), pong = net_adm:ping('${ts.name}'), pong = net_adm:ping('${tsBusy.name}').`);
    const echo = { name: 'echo', node: b.name };
    const onC = async (expr: string) => c.eval(expr, 120_000);
    const beamRate = async (expr: string, n: number) => n / (Number(await onC(expr)) / 1e6);
    const beamRtts = async (dest: string) => JSON.parse(await onC(`calls_bench:rtts(${dest}, ${RTT_CHUNK}).`)) as number[];
    const addLatency = (row: string, side: 'ts' | 'beam', times: number[]) => {
      add(`${row} p50 (µs)`, 'latency', side, percentile(times, 0.5));
      add(`${row} p99 (µs)`, 'latency', side, percentile(times, 0.99));
    };

    // Sequential calls both ways and round trips both ways, for one TS node: `label`
    // names its rows. Each row's BEAM anchor is measured in the same turn.
    const latencyRows = async (node: typeof ts, label: string) => {
      const t0 = performance.now();
      for (let i = 0; i < SEQ; i++) await node.call(echo, i);
      add(`sequential calls TS -> BEAM${label} (/s)`, 'rate', 'ts', SEQ / ((performance.now() - t0) / 1000));
      add(`sequential calls TS -> BEAM${label} (/s)`, 'rate', 'beam', await beamRate(`calls_bench:seq_calls({echo, '${b.name}'}, ${SEQ}).`, SEQ));
      add(`sequential calls BEAM -> TS${label} (/s)`, 'rate', 'ts', await beamRate(`calls_bench:seq_calls({ts_echo, '${node.name}'}, ${SEQ}).`, SEQ));
      add(`sequential calls BEAM -> TS${label} (/s)`, 'rate', 'beam', await beamRate(`calls_bench:seq_calls({echo, '${b.name}'}, ${SEQ}).`, SEQ));

      // Round trips: a TS client of BEAM's pong, a BEAM client of TS's pong, and BEAM <-> BEAM,
      // their anchor. They go in chunks, taken in turn: on this machine a round trip's time
      // depends on whether the cores sleep between messages (about 12 us when they stay busy,
      // 70-100 us when they sleep), and that changes with the load of the moment; in turns,
      // each side meets the same.
      const me = node.spawn();
      const rtt = { client: [] as number[], server: [] as number[], beam: [] as number[] };
      for (let chunk = 0; chunk < RTT / RTT_CHUNK; chunk++) {
        for (let i = 0; i < RTT_CHUNK; i++) {
          const t = process.hrtime.bigint();
          me.send({ name: 'pong', node: b.name }, tuple(atom('ping'), me.pid, i));
          await me.receive();
          rtt.client.push(Number(process.hrtime.bigint() - t) / 1000);
        }
        rtt.beam.push(...(await beamRtts(`{pong, '${b.name}'}`)));
        rtt.server.push(...(await beamRtts(`{ts_pong, '${node.name}'}`)));
      }
      me.exit();
      for (const [row, times] of [['TS client', rtt.client], ['TS server', rtt.server]] as const) {
        addLatency(`round trip, ${row}${label}`, 'ts', times);
        addLatency(`round trip, ${row}${label}`, 'beam', rtt.beam);
      }
    };

    // Warm-up, not counted: the first calls of a run are the JIT's, not the library's.
    for (const node of [ts, tsBusy]) for (let i = 0; i < SEQ; i++) await node.call(echo, i);
    await beamRate(`calls_bench:seq_calls({echo, '${b.name}'}, ${SEQ}).`, SEQ);

    for (let round = 0; round < ROUNDS; round++) {
      await latencyRows(ts, '');
      await latencyRows(tsBusy, ` (busyWait ${BUSY_WAIT_US} µs)`);
      // Two raw Node sockets (no nessie code), the floor under a Node round trip.
      const raw1: number[] = [];
      const rawBeam: number[] = [];
      for (let chunk = 0; chunk < RTT / RTT_CHUNK; chunk++) {
        raw1.push(...(await raw.rtts(RTT_CHUNK)));
        rawBeam.push(...(await beamRtts(`{pong, '${b.name}'}`)));
      }
      addLatency('round trip, raw Node sockets (floor)', 'ts', raw1);
      addLatency('round trip, raw Node sockets (floor)', 'beam', rawBeam);

      let t0 = performance.now();
      await Promise.all(Array.from({ length: CONC }, async () => {
        for (let i = 0; i < CONC_TOTAL / CONC; i++) await ts.call(echo, i);
      }));
      add(`${CONC} concurrent callers TS -> BEAM (/s)`, 'rate', 'ts', CONC_TOTAL / ((performance.now() - t0) / 1000));
      add(`${CONC} concurrent callers TS -> BEAM (/s)`, 'rate', 'beam',
        await beamRate(`calls_bench:conc_calls({echo, '${b.name}'}, ${CONC_TOTAL}, ${CONC}).`, CONC_TOTAL));

      const me1 = ts.spawn();
      t0 = performance.now();
      for (let i = 0; i < MSGS; i++) ts.send({ name: 'sink', node: b.name }, tuple(atom('seq'), i));
      me1.send({ name: 'sink', node: b.name }, tuple(atom('count'), MSGS, me1.pid));
      await me1.receive(60_000);
      add('small messages TS -> BEAM (/s)', 'rate', 'ts', MSGS / ((performance.now() - t0) / 1000));
      me1.exit();
      add('small messages TS -> BEAM (/s)', 'rate', 'beam', await beamRate(`calls_bench:small_msgs({sink, '${b.name}'}, ${MSGS}).`, MSGS));

      // 64 KiB binaries, both ways, against BEAM -> BEAM (c to b) in the same round.
      const big = Buffer.alloc(64 * 1024, 7);
      const me2 = ts.spawn();
      t0 = performance.now();
      for (let i = 0; i < BIG; i++) if (!me2.send({ name: 'sink', node: b.name }, big)) await ts.drain(b.name);
      me2.send({ name: 'sink', node: b.name }, tuple(atom('count'), BIG, me2.pid));
      await me2.receive(60_000);
      add('64 KiB messages TS -> BEAM (/s)', 'rate', 'ts', BIG / ((performance.now() - t0) / 1000));
      me2.exit();
      const bigSink = ts.spawn({ name: 'ts_big' });
      t0 = performance.now();
      await b.eval(`calls_bench:send_big({ts_big, '${ts.name}'}, ${BIG}, done).`);
      for (let i = 0; i < BIG; i++) await bigSink.receive(60_000);
      await bigSink.receive((m) => m === atom('done'), 60_000);
      add('64 KiB messages BEAM -> TS (/s)', 'rate', 'ts', BIG / ((performance.now() - t0) / 1000));
      bigSink.exit();
      const beamBig = await beamRate(`calls_bench:big_msgs({sink, '${b.name}'}, ${BIG}).`, BIG);
      add('64 KiB messages TS -> BEAM (/s)', 'rate', 'beam', beamBig);
      add('64 KiB messages BEAM -> TS (/s)', 'rate', 'beam', beamBig);
    }
  } finally {
    await ts.stop();
    await tsBusy.stop();
    await b.stop();
    await c.stop();
    raw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\ncalls, round trips and messages: medians of ${ROUNDS} interleaved rounds (src: ${srcLabel}); ${loadLine()}`);
  console.table(Object.entries(rows).map(([measure, r]) => {
    const ratio = median(r.ts) / median(r.beam);
    const target = r.kind === 'rate' ? '>= 1.00' : measure.includes('floor') ? 'floor' : measure.includes('p50') ? '<= 1.10' : 'none';
    const met = target === '>= 1.00' ? ratio >= 1 : target === '<= 1.10' ? ratio <= 1.1 : undefined;
    return {
      measure,
      TS: fmt(median(r.ts)),
      'BEAM <-> BEAM': fmt(median(r.beam)),
      'TS / BEAM': Number(ratio.toFixed(2)),
      target,
      met: met === undefined ? '' : met ? 'yes' : 'NO',
    };
  }));
}

const fmt = (x: number) => (x >= 1000 ? Math.round(x).toLocaleString('en') : x.toFixed(1));

/**
 * A plain TCP echo in a child Node process (no nessie code at all), and a client
 * here: the round trip of two Node processes over loopback, the floor under ours.
 */
class RawEcho {
  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: Socket,
  ) {}

  static async start(host: string): Promise<RawEcho> {
    const code = `const s = require('node:net').createServer((c) => { c.setNoDelay(true); c.on('data', (d) => c.write(d)); });
      s.listen(0, ${JSON.stringify(host)}, () => process.send(s.address().port));`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (p) => resolve(Number(p)));
      child.once('exit', (code) => reject(new Error(`raw echo exited: ${code}`)));
    });
    const socket = connect({ host, port, noDelay: true });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawEcho(child, socket);
  }

  /** `k` round trips of a 32-byte message (about a small dist message's size): each one's µs. */
  async rtts(k: number): Promise<number[]> {
    const msg = Buffer.alloc(32, 1);
    const times: number[] = [];
    for (let i = 0; i < k; i++) {
      const t = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        let got = 0;
        const onData = (d: Buffer) => {
          got += d.length;
          if (got < msg.length) return;
          this.socket.off('data', onData);
          resolve();
        };
        this.socket.on('data', onData);
        this.socket.write(msg);
      });
      times.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    return times;
  }

  stop(): void {
    this.socket.destroy();
    if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGTERM');
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
