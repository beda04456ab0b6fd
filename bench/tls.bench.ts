/**
 * Distribution over TLS (issue 12), each figure beside its BEAM <-> BEAM anchor in the
 * same run, both sides with `-proto_dist inet_tls` and mutual verify_peer:
 *  1. connection setup (TCP connect + TLS handshake + distribution handshake): TS -> BEAM
 *     timed in this process, BEAM -> BEAM timed with timer:tc inside erl (as in
 *     dist.bench.ts); the median of all connects of every round;
 *  2. small messages ({seq, N}) per second, TS -> BEAM against BEAM -> BEAM, each round
 *     ending when the sink on BEAM has counted them all; the median of the rounds.
 * Rounds are interleaved (TS, then BEAM, then TS...) so drift on this shared machine
 * hits both sides alike. Targets in the issue: throughput ratio >= 1, setup ratio <= 1.5.
 *
 * Certificates: a throwaway ECDSA CA and node certificates made with openssl in a temp
 * directory (test/support/tls-certs.ts), removed at the end. OTP 25 (host erl). Only
 * loopback addresses; every erl is stopped by PID. The BEAM side is compiled
 * (`tls_bench.erl`, built with erlc into a temp directory removed at the end).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atom, Node, silentLogger, tuple } from '../src/index.js';
import { ErlPeer, otpAvailability } from '../test/support/erl-peer.js';
import { freeSharedPort } from '../test/support/ports.js';
import { TestPki } from '../test/support/tls-certs.js';
import { loadLine, machineLine } from './machine.js';

const COOKIE = 'tls-bench';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CONNECTS_PER_ROUND = 32; // 5 rounds: 160 connects a side
const MSGS = 100_000;
// Lets the far side finish tearing the last connection down before the next dial.
const SETTLE_MS = 20;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The ratio TS / BEAM with two decimals. */
const ratio = (ts: number, beam: number) => Number((ts / beam).toFixed(2));

async function main(): Promise<void> {
  const avail = otpAvailability(25);
  if (!avail.ok) throw new Error(`needs OTP 25: ${avail.reason}`);
  console.log(machineLine());
  const pki = new TestPki();
  const beamDir = mkdtempSync(join(tmpdir(), 'nessie-tls-bench-'));
  const peers: ErlPeer[] = [];
  let ts: Node | undefined;
  try {
    execFileSync('erlc', ['-o', beamDir, new URL('tls_bench.erl', import.meta.url).pathname]);
    const pa = ['-pa', beamDir];
    pki.ca('ca');
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const b = await ErlPeer.start({ name: 'b@127.0.0.2', cookie: COOKIE, epmdless: { port }, args: [...pa, ...pki.erlArgs(25, pki.issue('b', 'ca'))] });
    peers.push(b);
    const c = await ErlPeer.start({ name: 'c@127.0.0.4', cookie: COOKIE, epmdless: { port }, args: [...pa, ...pki.erlArgs(25, pki.issue('c', 'ca'))] });
    peers.push(c);
    ts = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger, tls: pki.nodeTls(pki.issue('ts', 'ca')) });
    const otp = (await b.eval('erlang:system_info(otp_release).')).replace(/"/g, '');

    // Both links really are TLS before anything is measured.
    if ((await ts.ping(b.name)) !== 'pong') throw new Error('b not reachable over TLS');
    await c.eval(`pong = net_adm:ping('${b.name}').`);
    for (const n of [ts.name, c.name]) {
      const proto = await b.eval(`{ok, I} = net_kernel:node_info('${n}'), element(4, proplists:get_value(address, I)).`);
      if (proto !== 'tls') throw new Error(`${n} -> b is ${proto}, not tls`);
    }
    await b.eval('tls_bench:start_sink().');

    const setup = { ts: [] as number[], beam: [] as number[] };
    const rate = { ts: [] as number[], beam: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      // 1. Connection setup. Start from no connection on either side.
      await ts.disconnect(b.name);
      await c.eval(`erlang:disconnect_node('${b.name}'), ok.`);
      await sleep(100);
      for (let i = 0; i < CONNECTS_PER_ROUND; i++) {
        const t0 = process.hrtime.bigint();
        if (!(await ts.connect(b.name))) throw new Error('TS -> b connect failed');
        setup.ts.push(Number(process.hrtime.bigint() - t0) / 1000);
        await ts.disconnect(b.name);
        await sleep(SETTLE_MS);
      }
      const beamTimes = await c.eval(`tls_bench:connect_times('${b.name}', ${CONNECTS_PER_ROUND}, ${SETTLE_MS}).`, 120_000);
      setup.beam.push(...beamTimes.replace(/"/g, '').split(',').map(Number));

      // 2. Small messages, on fresh connections made outside the timing.
      if ((await ts.ping(b.name)) !== 'pong') throw new Error('b not reachable');
      await c.eval(`pong = net_adm:ping('${b.name}').`);
      await sleep(100);
      const me = ts.spawn();
      const sink = { name: 'sink', node: b.name };
      const t0 = performance.now();
      for (let i = 0; i < MSGS; i++) if (!me.send(sink, tuple(atom('seq'), i))) await ts.drain(b.name);
      me.send(sink, tuple(atom('count'), MSGS, me.pid));
      await me.receive(60_000);
      rate.ts.push(MSGS / ((performance.now() - t0) / 1000));
      me.exit();
      const us = await c.eval(`tls_bench:send_rate('${b.name}', ${MSGS}).`, 120_000);
      rate.beam.push(MSGS / (Number(us) / 1e6));
    }
    if (setup.beam.length !== setup.ts.length || setup.beam.some((x) => !Number.isFinite(x))) throw new Error('could not read the BEAM connect times');

    const setupTs = median(setup.ts);
    const setupBeam = median(setup.beam);
    console.log(`\nTLS distribution (OTP ${otp}, -proto_dist inet_tls both sides, ECDSA P-256, mutual verify_peer), ${ROUNDS} interleaved rounds`);
    console.table([
      {
        measure: `connection setup, median of ${setup.ts.length} (µs)`,
        'TS -> BEAM': Math.round(setupTs),
        'BEAM -> BEAM': Math.round(setupBeam),
        'TS / BEAM': ratio(setupTs, setupBeam),
        target: '<= 1.5',
        met: ratio(setupTs, setupBeam) <= 1.5 ? 'yes' : 'no',
      },
      {
        measure: `small messages per second, median of ${ROUNDS} x ${MSGS}`,
        'TS -> BEAM': Math.round(median(rate.ts)),
        'BEAM -> BEAM': Math.round(median(rate.beam)),
        'TS / BEAM': ratio(median(rate.ts), median(rate.beam)),
        target: '>= 1',
        met: ratio(median(rate.ts), median(rate.beam)) >= 1 ? 'yes' : 'no',
      },
    ]);
    console.log('setup per round (µs, median): TS', perRound(setup.ts), 'BEAM', perRound(setup.beam));
    console.log('messages per round (/s): TS', rate.ts.map(Math.round), 'BEAM', rate.beam.map(Math.round));
    console.log(loadLine());
  } finally {
    await ts?.stop();
    for (const p of peers) await p.stop();
    pki.remove();
    rmSync(beamDir, { recursive: true, force: true });
  }
}

/** The median of each round's connects, to show the spread between rounds. */
function perRound(xs: number[]): number[] {
  return Array.from({ length: ROUNDS }, (_, r) => Math.round(median(xs.slice(r * CONNECTS_PER_ROUND, (r + 1) * CONNECTS_PER_ROUND))));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
