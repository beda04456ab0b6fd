/**
 * Remote calls served by a TS node, as BEAM makes them: erpc:call and rpc:call from a
 * BEAM node into functions exposed with `node.expose`, sequential and with 32
 * concurrent callers, for three results (a small tuple, a ~2 KB Phoenix-like map with
 * binary keys, a 64 KiB binary), each beside the same calls into a BEAM node serving
 * the same results (the anchor), measured in the same round; and, the receive path that
 * serving shares with every message, messages BEAM -> a TS process (small ones, the
 * Phoenix-like map, 64 KiB binaries, and the map to a process that takes map keys as
 * strings with `binaries: 'utf8-keys'`). Rounds are interleaved;
 * figures are medians of the rounds, with the ratio to the anchor.
 *
 * A/B in one run: `NESSIE_SRC=/other/checkout/src npm run bench:rpc` starts a second
 * TS node on that checkout's code beside this one's, and every round measures both
 * (in alternating order), so the two columns and their ratio come from the same
 * minutes of the same machine.
 *
 * The BEAM side is compiled code (rpc_bench.erl, compiled with erlc into a temp dir
 * and loaded with -pa). Only loopback addresses; erl is stopped by PID, the temp dir
 * removed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErlPeer, otpAvailability } from '../test/support/erl-peer.js';
import { freeSharedPort } from '../test/support/ports.js';
import { loadLine, machineLine } from './machine.js';

type Lib = typeof import('../src/index.js');
// Run by compiled.mjs, this file is JavaScript and so is the src it imports.
const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
const thisSrc = new URL('../src/', import.meta.url).pathname;
const otherSrc = process.env.NESSIE_SRC;
const otherLabel = process.env.NESSIE_SRC_LABEL ?? otherSrc;
const load = async (src: string) => (await import(`${src}/index.${ext}`)) as Lib;

const COOKIE = 'rpc-bench';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CONC = 32;
/** Calls per measure, by result: fewer for the bigger ones. */
const CALLS: Record<string, number> = { small: 3000, phoenix: 2000, big: 600 };
const CONC_TOTAL = 9600;
const MSGS = 20_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Side {
  label: string;
  node: string;
  /** Its `sink_keys` takes map keys as strings (code with the binaries option). */
  keys: boolean;
}

async function main(): Promise<void> {
  console.log(machineLine());
  const avail = otpAvailability(25);
  if (!avail.ok) throw new Error(`needs OTP 25: ${avail.reason}`);
  const dir = mkdtempSync(join(tmpdir(), 'nessie-rpc-'));
  execFileSync('erlc', ['-o', dir, ...['rpc_bench.erl', 'term_bench.erl'].map((f) => new URL(f, import.meta.url).pathname)]);
  const libs: { label: string; lib: Lib; host: string }[] = [{ label: 'this', lib: await load(thisSrc), host: '127.0.0.3' }];
  if (otherSrc !== undefined && otherSrc.replace(/\/$/, '') !== thisSrc.replace(/\/$/, '')) {
    libs.unshift({ label: 'other', lib: await load(otherSrc), host: '127.0.0.5' });
  }
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.4', ...libs.map((l) => l.host)]);
  const peerArgs = { cookie: COOKIE, epmdless: { port }, args: ['-pa', dir] };
  const server = await ErlPeer.start({ name: 'b@127.0.0.2', ...peerArgs });
  const caller = await ErlPeer.start({ name: 'c@127.0.0.4', ...peerArgs });
  const nodes: { stop(): Promise<void> }[] = [];
  const rows = new Map<string, Map<string, number[]>>();
  const add = (row: string, side: string, value: number) => {
    if (!rows.has(row)) rows.set(row, new Map());
    const r = rows.get(row)!;
    if (!r.has(side)) r.set(side, []);
    r.get(side)!.push(value);
  };
  try {
    await server.eval('rpc_bench:start().');
    const sides: Side[] = [];
    for (const { label, lib, host } of libs) {
      const { Node, silentLogger, atom, tuple } = lib;
      const ts = await Node.start({ name: `ts_${label}@${host}`, cookie: COOKIE, epmd: false, port, logger: silentLogger });
      nodes.push(ts);
      // The results, as a TS program would hold them: the payload as decoded from the wire.
      const phoenix = await ts.rpc(server.name, 'rpc_bench', 'payload', []);
      const big = Buffer.alloc(64 * 1024, 7);
      const ok = atom('ok');
      ts.expose('rpc_bench', { small: () => tuple(ok, 42), phoenix: () => phoenix, big: () => big });
      // Sinks for messages BEAM -> TS: one as every process is by default, and, on code
      // that has the binaries option, one that takes map keys as strings.
      const sink = (name: string, binaries?: 'utf8-keys') => {
        const p = ts.spawn(binaries === undefined ? { name } : { name, binaries });
        void p.serve((m) => {
          if (Array.isArray(m) && m.length === 3 && m[0] === atom('count')) p.send(m[2] as never, tuple(atom('counted'), m[1]));
        });
        return p;
      };
      sink('sink');
      const keys = sink('sink_keys', 'utf8-keys');
      sides.push({ label: label === 'this' ? 'TS (this src)' : 'TS (NESSIE_SRC)', node: ts.name, keys: 'binaries' in keys });
    }
    const anchor: Side = { label: 'BEAM', node: server.name, keys: true };
    for (const s of [...sides, anchor]) await caller.eval(`pong = net_adm:ping('${s.node}').`);
    const rate = async (expr: string, n: number) =>
      n / (Number(await caller.eval(expr, 300_000).catch((err: unknown) => Promise.reject(new Error(`${expr}: ${String(err)}`)))) / 1e6);

    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which TS node goes first, so neither always meets the warmer machine.
      const order = [...(round % 2 === 0 ? sides : [...sides].reverse()), anchor];
      for (const f of Object.keys(CALLS)) {
        for (const how of ['erpc', 'rpc']) {
          for (const s of order) add(`sequential ${how}:call, ${f} (/s)`, s.label, await rate(`rpc_bench:seq(${how}, '${s.node}', ${f}, ${CALLS[f]}).`, CALLS[f]));
        }
      }
      for (const f of ['small', 'phoenix']) {
        for (const s of order) add(`${CONC} concurrent erpc:call, ${f} (/s)`, s.label, await rate(`rpc_bench:conc('${s.node}', ${f}, ${CONC_TOTAL}, ${CONC}).`, CONC_TOTAL));
      }
      // The receive path that serving shares with every message: BEAM -> a TS process.
      for (const [what, n] of [['small', MSGS], ['phoenix', MSGS / 4], ['big', MSGS / 20]] as const) {
        for (const s of order) add(`messages BEAM -> TS process, ${what} (/s)`, s.label, await rate(`rpc_bench:send_msgs({sink, '${s.node}'}, ${what}, ${n}).`, n));
        if (what !== 'phoenix') continue;
        for (const s of order.filter((x) => x.keys)) {
          add(`messages BEAM -> TS process, phoenix, utf8-keys (/s)`, s.label, await rate(`rpc_bench:send_msgs({${s === anchor ? 'sink' : 'sink_keys'}, '${s.node}'}, phoenix, ${MSGS / 4}).`, MSGS / 4));
        }
      }
    }
  } finally {
    for (const n of nodes) await n.stop();
    await server.stop();
    await caller.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\ncalls served by TS, called from compiled BEAM: medians of ${ROUNDS} interleaved rounds; ${loadLine()}`);
  if (libs.length === 2) console.log(`TS (NESSIE_SRC) = ${otherLabel}; TS (this src) = ${thisSrc}`);
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  console.table(
    [...rows].map(([measure, r]) => {
      const beam = median(r.get('BEAM')!);
      const out: Record<string, string | number> = { measure };
      for (const [side, xs] of r) if (side !== 'BEAM') out[side] = `${fmt(median(xs))} (${(median(xs) / beam).toFixed(2)})`;
      out['BEAM -> BEAM'] = fmt(beam);
      const a = r.get('TS (NESSIE_SRC)');
      const b = r.get('TS (this src)');
      if (a !== undefined && b !== undefined) {
        out['this / NESSIE_SRC'] = Number((median(b) / median(a)).toFixed(2));
        // The same ratio taken within each round, then the median: load that drifts between rounds cancels out.
        out['per-round ratio (median)'] = Number(median(b.map((x, i) => x / a[i])).toFixed(2));
      }
      return out;
    }),
  );
}

await main();
