/**
 * Phoenix.PubSub broadcast throughput with a TS node in an Elixir cluster, beside the
 * same between two Elixir nodes on this machine, in one run: three nodes (Elixir ex1
 * and ex2, TS), pubsub `Bench.PubSub` with pool_size 1 on each, so every broadcast goes
 * to the two other nodes.
 *
 *   TS -> Elixir       the TS node broadcasts N messages; a subscriber on ex1 counts them
 *   Elixir -> TS       ex1 broadcasts N; a TS subscriber counts them
 *   Elixir -> Elixir   ex2 broadcasts N; the subscriber on ex1 counts them (the anchor)
 *
 * Each run starts with one message (a TS loop, or a `go` to a registered sender on an
 * Elixir node) and ends when the subscriber has all N (it tells a TS process, or the TS
 * handler sees the last); all three are timed on the TS clock the same way. Rounds are
 * interleaved (TS -> Elixir, Elixir -> Elixir, Elixir -> TS) and each figure is the
 * median of the rounds, with its ratio to Elixir -> Elixir (target >= 0.8).
 *
 * The Elixir side is the stand-in of test/fixtures/phoenix_pubsub_standin.ex (phoenix_pubsub
 * 2.2.0's message shapes, Registry dispatch), compiled by Elixir 1.18's compiler into
 * BEAM modules on OTP 27 (test/support/elixir-peer.ts); nothing runs in erl_eval but
 * the one-line starts. Only loopback addresses; every node is stopped by its PID.
 */
import { fileURLToPath } from 'node:url';
import { elixirAvailability, startElixirPeer } from '../test/support/elixir-peer.js';
import { freeSharedPort } from '../test/support/ports.js';
import { loadLine, machineLine } from './machine.js';

const src = process.env.NESSIE_SRC ?? new URL('../src/', import.meta.url).pathname;
// Run by compiled.mjs, this file is JavaScript and so is the src it imports.
const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
const { Node, PubSub, atom, silentLogger, tuple } = (await import(`${src}/index.${ext}`)) as typeof import('../src/index.js');

const COOKIE = 'pubsub-bench';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const N = Number(process.env.BROADCASTS ?? 20_000);
const STANDIN = fileURLToPath(new URL('../test/fixtures/phoenix_pubsub_standin.ex', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  console.log(machineLine());
  const avail = elixirAvailability();
  if (!avail.ok) throw new Error(`needs Elixir on OTP 27: ${avail.reason}`);
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  const ex1 = await startElixirPeer({ name: 'ex1@127.0.0.2', cookie: COOKIE, epmdless: { port }, sources: [STANDIN] });
  const ex2 = await startElixirPeer({ name: 'ex2@127.0.0.4', cookie: COOKIE, epmdless: { port }, sources: [STANDIN] });
  // machineLine() names the host's erl; the Elixir nodes run the trixie root's.
  console.log(`Elixir side: ${await ex1.eval(`{'Elixir.System':version(), erlang:system_info(otp_release)}.`)} ({Elixir, OTP})`);
  const ts = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
  const rates = { tsToEx: [] as number[], exToTs: [] as number[], exToEx: [] as number[] };
  try {
    for (const ex of [ex1, ex2]) await ex.eval(`'Elixir.PubSubStandIn':start('Elixir.Bench.PubSub', 1), 'Elixir.PubSubStandIn':bench_sender(bench_sender), ok.`);
    await ex1.eval(`'Elixir.PubSubStandIn':sequence_checker(ex_sub, 'Elixir.Bench.PubSub', <<"to_ex">>), ok.`);
    const pubsub = await PubSub.start(ts, { name: 'Bench.PubSub', logger: silentLogger });
    await ex2.eval(`pong = net_adm:ping('${ex1.name}'), pong = net_adm:ping('${ts.name}'), ok.`);
    if ((await ts.ping(ex1.name)) !== 'pong') throw new Error('ex1 not reachable');
    // Every node sees both others' workers before anything is timed.
    const adapter = atom('Elixir.Bench.PubSub.Adapter');
    for (let i = 0; i < 100 && ts.pg('Elixir.Phoenix.PubSub').getMembers(adapter).length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    for (const ex of [ex1, ex2]) {
      const n = await ex.eval(`(fun W(0) -> length(pg:get_members('Elixir.Phoenix.PubSub', 'Elixir.Bench.PubSub.Adapter')); W(K) -> case length(pg:get_members('Elixir.Phoenix.PubSub', 'Elixir.Bench.PubSub.Adapter')) of 3 -> 3; _ -> timer:sleep(50), W(K - 1) end end)(100).`);
      if (n !== '3') throw new Error(`${ex.name} sees ${n} workers`);
    }

    // TS subscriber for Elixir -> TS: resolves `tsDone` when the round's last message is in.
    let tsCount = 0;
    let tsTarget = Infinity;
    let tsDone: () => void = () => {};
    pubsub.subscribe('to_ts', () => {
      if (++tsCount === tsTarget) tsDone();
    });
    const waiter = ts.spawn();
    let exTotal = 0; // what ex1's checker has counted so far
    const exSubscriberHas = async (count: number) => {
      waiter.send({ name: 'ex_sub', node: ex1.name }, tuple(atom('wait_for'), count, waiter.pid));
      const stats = (await waiter.receive(120_000)) as unknown[];
      if (stats[2] !== 0) throw new Error(`ex1 saw ${String(stats[2])} messages out of order`);
    };

    for (let round = 1; round <= ROUNDS; round++) {
      // TS -> Elixir
      let t0 = performance.now();
      for (let i = 1; i <= N; i++) await pubsub.broadcast('to_ex', tuple(atom('seq'), tuple(atom('ts'), round), i));
      exTotal += N;
      await exSubscriberHas(exTotal);
      rates.tsToEx.push(N / ((performance.now() - t0) / 1000));

      // Elixir -> Elixir
      t0 = performance.now();
      waiter.send({ name: 'bench_sender', node: ex2.name }, tuple(atom('go'), atom('Elixir.Bench.PubSub'), 'to_ex', tuple(atom('ex2'), round), N));
      exTotal += N;
      await exSubscriberHas(exTotal);
      rates.exToEx.push(N / ((performance.now() - t0) / 1000));

      // Elixir -> TS
      tsTarget = tsCount + N;
      const done = new Promise<void>((r) => (tsDone = r));
      t0 = performance.now();
      waiter.send({ name: 'bench_sender', node: ex1.name }, tuple(atom('go'), atom('Elixir.Bench.PubSub'), 'to_ts', tuple(atom('ex1'), round), N));
      await done;
      rates.exToTs.push(N / ((performance.now() - t0) / 1000));
    }
    pubsub.stop();
  } finally {
    await ts.stop();
    await ex1.stop();
    await ex2.stop();
  }
  const anchor = median(rates.exToEx);
  const row = (measure: string, xs: number[]) => ({ measure, 'broadcasts/s': Math.round(median(xs)), 'vs Elixir -> Elixir': Number((median(xs) / anchor).toFixed(2)) });
  console.log(`\nPhoenix.PubSub broadcasts per second (${N} per run, 1 subscriber), median of ${ROUNDS} interleaved rounds; ${loadLine()}`);
  console.table([row('TS -> Elixir subscriber', rates.tsToEx), row('Elixir -> TS subscriber', rates.exToTs), row('Elixir -> Elixir subscriber', rates.exToEx)]);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
