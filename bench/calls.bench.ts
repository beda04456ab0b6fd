/**
 * Calls and small messages against BEAM, each beside its BEAM <-> BEAM anchor in the
 * same round: sequential gen_server calls TS -> BEAM, 32 concurrent TS callers,
 * calls BEAM -> TS (a TS process serving `$gen_call`s), 20,000 small messages
 * TS -> BEAM, and 2,000 messages of a 64 KiB binary each way (sent in two fragments). Rounds are interleaved (TS, then BEAM, then TS...) and each figure is
 * the median of the rounds, printed with its ratio to the anchor (>= 1 is as fast as
 * BEAM or faster).
 *
 * `NESSIE_SRC=/path/to/other/src npm run bench:calls` measures another checkout's
 * code with the same script, so a change can be compared with what it replaced
 * (run both, alternating, and compare the printed medians).
 *
 * The BEAM sides run as compiled-module-free erl_eval funs (interpreted) except the
 * gen_server calls themselves (gen:call is compiled), so BEAM's figures understate a
 * fully compiled caller a little. Only loopback addresses; erl is stopped by PID.
 */
import { ErlPeer, otpAvailability } from '../test/support/erl-peer.js';
import { freeSharedPort } from '../test/support/ports.js';

const src = process.env.NESSIE_SRC ?? new URL('../src/', import.meta.url).pathname;
const { Node, atom, silentLogger, tuple } = (await import(`${src}/index.ts`)) as typeof import('../src/index.js');
const { parseGenCall } = (await import(`${src}/node/gen.ts`)) as typeof import('../src/node/gen.js');

const COOKIE = 'calls-bench';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SEQ = 3000;
const CONC_TOTAL = 20_000;
const CONC = 32;
const MSGS = 20_000;
const BIG = 2000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const avail = otpAvailability(25);
  if (!avail.ok) throw new Error(`needs OTP 25: ${avail.reason}`);
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  const b = await ErlPeer.start({ name: 'b@127.0.0.2', cookie: COOKIE, epmdless: { port } });
  const c = await ErlPeer.start({ name: 'c@127.0.0.4', cookie: COOKIE, epmdless: { port } });
  const ts = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
  const rows: Record<string, { ts: number[]; beam: number[] }> = {};
  const add = (row: string, side: 'ts' | 'beam', perSecond: number) => {
    rows[row] ??= { ts: [], beam: [] };
    rows[row][side].push(perSecond);
  };
  try {
    // An echo gen_server on b, and a counting sink.
    await b.eval(`register(echo, spawn(fun L() -> receive {'$gen_call', From, R} -> gen:reply(From, R), L() end end)), ok.`);
    await b.eval(`register(sink, spawn(fun L() -> receive {count, N, From} -> From ! {counted, N}, L(); _ -> L() end end)), ok.`);
    // A TS process serving calls, for BEAM -> TS.
    const server = ts.spawn({ name: 'ts_echo' });
    void server.serve((m) => {
      const call = parseGenCall(m);
      if (call !== undefined) ts.reply(call.from, call.request);
    });
    if ((await ts.ping(b.name)) !== 'pong') throw new Error('b not reachable');
    await c.eval(`pong = net_adm:ping('${b.name}'), pong = net_adm:ping('${ts.name}').`);
    const echo = { name: 'echo', node: b.name };
    const beamRate = async (expr: string, n: number) => n / (Number(await c.eval(expr, 120_000)) / 1e6);

    for (let round = 0; round < ROUNDS; round++) {
      let t0 = performance.now();
      for (let i = 0; i < SEQ; i++) await ts.call(echo, i);
      add('sequential calls TS -> BEAM', 'ts', SEQ / ((performance.now() - t0) / 1000));
      add('sequential calls TS -> BEAM', 'beam', await beamRate(
        `{T, _} = timer:tc(fun() -> [gen_server:call({echo, '${b.name}'}, I) || I <- lists:seq(1, ${SEQ})] end), T.`, SEQ));

      t0 = performance.now();
      await Promise.all(Array.from({ length: CONC }, async () => {
        for (let i = 0; i < CONC_TOTAL / CONC; i++) await ts.call(echo, i);
      }));
      add(`${CONC} concurrent callers TS -> BEAM`, 'ts', CONC_TOTAL / ((performance.now() - t0) / 1000));
      add(`${CONC} concurrent callers TS -> BEAM`, 'beam', await beamRate(
        `Self = self(), {T, _} = timer:tc(fun() -> Ps = [spawn(fun() -> [gen_server:call({echo, '${b.name}'}, I) || I <- lists:seq(1, ${CONC_TOTAL / CONC})], Self ! done end) || _ <- lists:seq(1, ${CONC})], [receive done -> ok end || _ <- Ps] end), T.`,
        CONC_TOTAL));

      add('sequential calls BEAM -> TS', 'ts', await beamRate(
        `{T, _} = timer:tc(fun() -> [gen_server:call({ts_echo, '${ts.name}'}, I) || I <- lists:seq(1, ${SEQ})] end), T.`, SEQ));
      add('sequential calls BEAM -> TS', 'beam', await beamRate(
        `{T, _} = timer:tc(fun() -> [gen_server:call({echo, '${b.name}'}, I) || I <- lists:seq(1, ${SEQ})] end), T.`, SEQ));

      const me = ts.spawn();
      t0 = performance.now();
      for (let i = 0; i < MSGS; i++) ts.send({ name: 'sink', node: b.name }, tuple(atom('seq'), i));
      me.send({ name: 'sink', node: b.name }, tuple(atom('count'), MSGS, me.pid));
      await me.receive(60_000);
      add('small messages TS -> BEAM', 'ts', MSGS / ((performance.now() - t0) / 1000));
      me.exit();
      add('small messages TS -> BEAM', 'beam', await beamRate(
        `{T, _} = timer:tc(fun() -> [{sink, '${b.name}'} ! {seq, I} || I <- lists:seq(1, ${MSGS})], {sink, '${b.name}'} ! {count, 0, self()}, receive {counted, _} -> ok end end), T.`, MSGS));

      // 64 KiB binaries, both ways, against BEAM -> BEAM (c to b) in the same round.
      const big = Buffer.alloc(64 * 1024, 7);
      const me2 = ts.spawn();
      t0 = performance.now();
      for (let i = 0; i < BIG; i++) if (!me2.send({ name: 'sink', node: b.name }, big)) await ts.drain(b.name);
      me2.send({ name: 'sink', node: b.name }, tuple(atom('count'), BIG, me2.pid));
      await me2.receive(60_000);
      add('64 KiB messages TS -> BEAM', 'ts', BIG / ((performance.now() - t0) / 1000));
      me2.exit();
      const bigSink = ts.spawn({ name: 'ts_big' });
      t0 = performance.now();
      await b.eval(`Bin = binary:copy(<<7>>, 65536), spawn(fun() -> [{ts_big, '${ts.name}'} ! Bin || _ <- lists:seq(1, ${BIG})], {ts_big, '${ts.name}'} ! done end), ok.`);
      for (let i = 0; i < BIG; i++) await bigSink.receive(60_000);
      await bigSink.receive((m) => m === atom('done'), 60_000);
      add('64 KiB messages BEAM -> TS', 'ts', BIG / ((performance.now() - t0) / 1000));
      bigSink.exit();
      const beamBig = await beamRate(
        `Bin = binary:copy(<<7>>, 65536), {T, _} = timer:tc(fun() -> [{sink, '${b.name}'} ! Bin || _ <- lists:seq(1, ${BIG})], {sink, '${b.name}'} ! {count, 0, self()}, receive {counted, _} -> ok end end), T.`, BIG);
      add('64 KiB messages TS -> BEAM', 'beam', beamBig);
      add('64 KiB messages BEAM -> TS', 'beam', beamBig);
    }
  } finally {
    await ts.stop();
    await b.stop();
    await c.stop();
  }
  console.log(`\ncalls and messages per second, median of ${ROUNDS} interleaved rounds (src: ${src})`);
  console.table(Object.entries(rows).map(([row, r]) => ({
    measure: row,
    TS: Math.round(median(r.ts)),
    'BEAM <-> BEAM': Math.round(median(r.beam)),
    'TS / BEAM': Number((median(r.ts) / median(r.beam)).toFixed(2)),
  })));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
