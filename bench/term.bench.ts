/**
 * The etf benchmark: decode and encode of a fixed corpus by nessie-cluster, erlang_js,
 * erlpack and BEAM's own term_to_binary/binary_to_term (compiled: term_bench.erl), in
 * one run on the same bytes. Prints a table per direction with each figure's ratio to
 * BEAM and to erlang_js and whether issue 10's targets are met, and writes
 * results/etf.json and results/etf.txt.
 *
 * Rounds are interleaved (nessie, erlang_js, erlpack, BEAM, nessie, ...; BEAM's rounds run
 * in the erl process, which waits on stdin between them) and each figure is the median of
 * its rounds, so a burst of load on the shared machine hits every competitor alike.
 *
 * Each JS library encodes its own decoding of the case bytes, so every library encodes
 * the same Erlang term in its own types; a library whose encoding is not that term
 * (erlpack's JS pack has no tuples or atoms) is reported n/a for that case.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { atom, decode, encode, encodeInto, float, tuple, type Term } from '../src/index.js';
import { loadLine, machineLine } from './machine.js';

/** bench/, also when this file runs compiled from a temporary directory. */
const benchDir = process.env.NESSIE_BENCH_DIR ?? dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(benchDir, 'package.json'));

/**
 * Run as users run the package: this file and src/ compiled by tsc into a temporary
 * directory, then run by plain node. Under tsx (how `npm run bench:etf` starts it), the
 * codec's imports go through getters of tsx's module wrappers: 9.5% of a struct-heavy
 * decode's cpu profile was those getters, a cost the built package does not have.
 */
if (process.env.NESSIE_ETF_COMPILED !== '1') {
  const root = join(benchDir, '..');
  const buildDir = mkdtempSync(join(tmpdir(), 'nessie-etf-build-'));
  let status: number | null = 1;
  try {
    writeFileSync(
      join(buildDir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: { outDir: buildDir, rootDir: root, declaration: false, sourceMap: false, typeRoots: [join(root, 'node_modules', '@types')] },
        files: [join(benchDir, 'term.bench.ts')],
        include: [],
      }),
    );
    execFileSync(process.execPath, [createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc'), '-p', join(buildDir, 'tsconfig.json')], { stdio: 'inherit' });
    writeFileSync(join(buildDir, 'package.json'), '{ "type": "module" }\n');
    status = spawnSync(process.execPath, [join(buildDir, 'bench', 'term.bench.js')], {
      stdio: 'inherit',
      env: { ...process.env, NESSIE_ETF_COMPILED: '1', NESSIE_BENCH_DIR: benchDir },
    }).status;
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
  process.exit(status ?? 1);
}

/** Issue 10's codec targets: nessie at least half BEAM's rate, and 1.5× erlang_js's. */
const TARGET_VS_BEAM = 0.5;
const TARGET_VS_ERLANG_JS = 1.5;
const ROUNDS = 9;
/** Each round of each competitor runs about this long. */
const ROUND_NS = 40e6;

/** Whether two encodings are the same Erlang term: nessie's canonical re-encoding of each. */
const sameTerm = (a: Buffer, b: Buffer) => encode(decode(a) as Term).equals(encode(decode(b) as Term));

// The cases made here; phoenix_2k and elixir_structs are made by erl (term_bench.erl).
function jsCorpus(): Record<string, Term> {
  const keys = Array.from({ length: 20 }, (_, i) => `key_${i}`);
  const mixed: Term[] = [42, 3.25, 'a binary value', atom('an_atom'), [1, 2, 3], -100000, float(2), atom('true')];
  const map = new Map<Term, Term>(keys.map((k, i) => [atom(k), mixed[i % mixed.length]]));
  const ints = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? i % 256 : (i * 2654435761) % 2147483647));
  const binary = Buffer.alloc(64 * 1024, 0xab);
  const nested: Term[] = Array.from({ length: 40 }, (_, i) =>
    tuple(atom('item'), i, new Map<Term, Term>([[atom('name'), `name-${i}`], [atom('tags'), [atom('a'), atom('b')]], [atom('score'), i * 1.5]]), `payload-${'x'.repeat(80)}`),
  );
  return {
    small_message: tuple(atom('ok'), 42, 'hello world'),
    map_20_atom_keys: map,
    list_1000_ints: ints,
    binary_64k: binary,
    nested_10k: nested,
  };
}
const ERL_CASES = ['phoenix_2k', 'elixir_structs'];

interface Codec {
  name: string;
  /** Why the library is missing, when it is. */
  missing?: string;
  decode(b: Buffer): unknown;
  encode(t: unknown): Buffer;
}

function load(): Codec[] {
  const codecs: Codec[] = [{ name: 'nessie', decode: (b) => decode(b), encode: (t) => encode(t as Term) }];
  try {
    const { Erlang } = require('erlang_js');
    // erlang_js takes callbacks, called synchronously.
    const call = (fn: (x: unknown, cb: (err: unknown, r: unknown) => void) => void, x: unknown) => {
      let out: unknown;
      fn(x, (err, r) => {
        if (err) throw err;
        out = r;
      });
      return out;
    };
    codecs.push({ name: 'erlang_js', decode: (b) => call(Erlang.binary_to_term, b), encode: (t) => call(Erlang.term_to_binary, t) as Buffer });
  } catch (err) {
    codecs.push({ name: 'erlang_js', missing: (err as Error).message, decode: () => 0, encode: () => Buffer.alloc(0) });
  }
  try {
    const erlpack = require('erlpack');
    codecs.push({ name: 'erlpack', decode: (b) => erlpack.unpack(b), encode: (t) => erlpack.pack(t) });
  } catch (err) {
    codecs.push({ name: 'erlpack', missing: `did not build or load: ${(err as Error).message.split('\n')[0]}`, decode: () => 0, encode: () => Buffer.alloc(0) });
  }
  return codecs;
}

/** The compiled BEAM side, one request at a time over its stdin/stdout. */
class Beam {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly proc: ReturnType<typeof spawn>) {
    this.lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  }

  static async start(dir: string): Promise<Beam | string> {
    if (spawnSync('erl', ['-noshell', '-eval', 'halt().']).status !== 0) return 'erl not installed';
    execFileSync('erlc', ['-o', dir, join(benchDir, 'term_bench.erl')]);
    const beam = new Beam(spawn('erl', ['-noshell', '-pa', dir, '-run', 'term_bench', 'main', dir], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const ready = await beam.line();
    if (ready !== 'ready') throw new Error(`term_bench did not start: ${ready}`);
    return beam;
  }

  private async line(): Promise<string> {
    const next = await this.lines.next();
    if (next.done === true) throw new Error('term_bench exited');
    return next.value;
  }

  /** Nanoseconds that `n` decodes or encodes of `name` take in BEAM. */
  async run(op: 'decode' | 'encode', name: string, n: number): Promise<number> {
    this.proc.stdin!.write(`${op} ${name} ${n}\n`);
    return Number(await this.line()) * 1000;
  }

  stop(): void {
    this.proc.stdin!.end('quit\n');
  }
}

/** One competitor: runs `n` operations and says how many nanoseconds they took. */
type Runner = (n: number) => Promise<number> | number;

function jsRunner(fn: () => unknown): Runner {
  return (n) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - t0);
  };
}

/** Operations that take about ROUND_NS. */
async function calibrate(run: Runner): Promise<number> {
  for (let n = 1; ; n *= 2) {
    const ns = await run(n);
    if (ns > ROUND_NS / 4) return Math.max(1, Math.round((n * ROUND_NS) / ns));
  }
}

/** Ops per second of each runner: the median of ROUNDS interleaved rounds. */
async function rates(runners: Runner[]): Promise<number[]> {
  const ns: number[] = [];
  for (const run of runners) ns.push(await calibrate(run));
  const perOp: number[][] = runners.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < runners.length; k++) perOp[k].push((await runners[k](ns[k])) / ns[k]);
  }
  return perOp.map((times) => 1e9 / median(times));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

type Cell = { opsPerSec: number; mbPerSec: number } | { na: string };
type Direction = 'decode' | 'encode';
const DIRECTIONS: Direction[] = ['decode', 'encode'];
/** The fast-path options, measured beside the defaults (informative: targets are on the defaults). */
const OPTION_COLUMNS: Record<Direction, { name: string; what: string }> = {
  decode: { name: "nessie{binaries:'utf8-keys'}", what: "decode(bytes, { binaries: 'utf8-keys' }): binary map keys that are UTF-8 come back as strings" },
  encode: { name: 'nessie encodeInto', what: 'encodeInto(term, buffer): into a reused buffer, no result allocated' },
};

async function main(): Promise<void> {
  console.log(machineLine());
  const codecs = load();
  const dir = mkdtempSync(join(tmpdir(), 'nessie-etf-'));
  const rows: Record<string, Record<string, Record<Direction, Cell>>> = {};
  const sizes: Record<string, number> = {};
  let beam: Beam | string = 'not started';
  try {
    const made = jsCorpus();
    for (const [name, term] of Object.entries(made)) writeFileSync(join(dir, `${name}.bin`), encode(term));
    beam = await Beam.start(dir);
    // Every case as bytes; erl's cases are term_to_binary's own bytes.
    const cases: Record<string, Buffer> = {};
    for (const name of Object.keys(made)) cases[name] = readFileSync(join(dir, `${name}.bin`));
    if (typeof beam !== 'string') for (const name of ERL_CASES) cases[name] = readFileSync(join(dir, `${name}.bin`));
    const into = Buffer.allocUnsafe(1 << 20);
    // NESSIE_ETF_CASES=a,b runs only those cases (for profiling one; results files are for full runs).
    const only = process.env.NESSIE_ETF_CASES?.split(',');
    for (const [name, bytes] of Object.entries(cases)) {
      if (only !== undefined && !only.includes(name)) continue;
      sizes[name] = bytes.length;
      const term = decode(bytes) as Term;
      const mb = (ops: number) => (ops * bytes.length) / 1e6;
      const row: Record<string, Record<Direction, Cell>> = (rows[name] = {});
      const runners: Record<Direction, Array<{ name: string; run: Runner }>> = { decode: [], encode: [] };
      for (const c of codecs) {
        if (c.missing !== undefined) {
          row[c.name] = { decode: { na: c.missing }, encode: { na: c.missing } };
          continue;
        }
        let own: unknown;
        try {
          own = c.decode(bytes);
        } catch (err) {
          const na = { na: `cannot decode: ${(err as Error).message}` };
          row[c.name] = { decode: na, encode: na };
          continue;
        }
        row[c.name] = { decode: { na: 'pending' }, encode: { na: 'pending' } };
        runners.decode.push({ name: c.name, run: jsRunner(() => c.decode(bytes)) });
        let produced: Buffer | undefined;
        try {
          produced = c.encode(own);
        } catch (err) {
          row[c.name].encode = { na: `encode failed: ${(err as Error).message}` };
        }
        if (produced !== undefined) {
          if (sameTerm(produced, bytes)) runners.encode.push({ name: c.name, run: jsRunner(() => c.encode(own)) });
          else row[c.name].encode = { na: 'cannot encode this term (its types have no tuples or atoms)' };
        }
      }
      const decodeOption = OPTION_COLUMNS.decode.name;
      const encodeOption = OPTION_COLUMNS.encode.name;
      row[decodeOption] = { decode: { na: 'pending' }, encode: { na: 'decode only' } };
      runners.decode.push({ name: decodeOption, run: jsRunner(() => decode(bytes, { binaries: 'utf8-keys' })) });
      if (!sameTerm(into.subarray(0, encodeInto(term, into)), bytes)) throw new Error(`encodeInto of ${name} is not the term`);
      row[encodeOption] = { decode: { na: 'encode only' }, encode: { na: 'pending' } };
      runners.encode.push({ name: encodeOption, run: jsRunner(() => encodeInto(term, into)) });
      if (typeof beam === 'string') {
        row.beam = { decode: { na: beam }, encode: { na: beam } };
      } else {
        const b = beam;
        row.beam = { decode: { na: 'pending' }, encode: { na: 'pending' } };
        for (const d of DIRECTIONS) runners[d].push({ name: 'beam', run: (n) => b.run(d, name, n) });
      }
      for (const d of DIRECTIONS) {
        const ops = await rates(runners[d].map((r) => r.run));
        ops.forEach((o, k) => (row[runners[d][k].name][d] = { opsPerSec: o, mbPerSec: mb(o) }));
      }
      process.stderr.write(`  ${name} done\n`);
    }
  } finally {
    if (typeof beam !== 'string') beam.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (c: Cell | undefined) => (c === undefined || 'na' in c ? undefined : c.opsPerSec);
  const fmtOps = (ops: number) => (ops >= 1e4 ? Math.round(ops).toLocaleString('en') : ops.toFixed(0));
  /** A figure with its ratio to nessie's (how many times nessie's rate it is). */
  const withRatio = (c: Cell | undefined, nessie: number | undefined, self: boolean) => {
    const ops = rate(c);
    if (ops === undefined) return 'n/a';
    return self || nessie === undefined ? fmtOps(ops) : `${fmtOps(ops)} (nessie ${(nessie / ops).toFixed(2)}×)`;
  };
  const verdict = (ratio: number | undefined, target: number) => (ratio === undefined ? 'n/a' : `${ratio.toFixed(2)} ${ratio >= target ? 'met' : 'SHORT'}`);
  const out: string[] = [machineLine(), ''];
  const summary: Record<string, Record<Direction, { vsBeam?: number; vsErlangJs?: number; metBeam?: boolean; metErlangJs?: boolean }>> = {};
  for (const d of DIRECTIONS) {
    out.push(`${d}: ops/s, median of ${ROUNDS} interleaved rounds (MB/s of the encoded size for nessie); (nessie N×) = nessie's rate / that column's`);
    const table = Object.entries(rows).map(([name, r]) => {
      const nessie = rate(r.nessie[d]);
      const beamOps = rate(r.beam[d]);
      const ejs = rate(r.erlang_js[d]);
      const vsBeam = nessie !== undefined && beamOps !== undefined ? nessie / beamOps : undefined;
      const vsErlangJs = nessie !== undefined && ejs !== undefined ? nessie / ejs : undefined;
      (summary[name] ??= {} as (typeof summary)[string])[d] = {
        vsBeam,
        vsErlangJs,
        metBeam: vsBeam === undefined ? undefined : vsBeam >= TARGET_VS_BEAM,
        metErlangJs: vsErlangJs === undefined ? undefined : vsErlangJs >= TARGET_VS_ERLANG_JS,
      };
      const nessieCell = r.nessie[d];
      return {
        case: `${name} (${sizes[name]} B)`,
        nessie: nessie === undefined || 'na' in nessieCell ? 'n/a' : `${fmtOps(nessie)} (${nessieCell.mbPerSec.toFixed(0)} MB/s)`,
        beam: withRatio(r.beam[d], nessie, false),
        erlang_js: withRatio(r.erlang_js[d], nessie, false),
        erlpack: withRatio(r.erlpack[d], nessie, false),
        [OPTION_COLUMNS[d].name]: withRatio(r[OPTION_COLUMNS[d].name][d], nessie, false),
        [`≥${TARGET_VS_BEAM}× beam`]: verdict(vsBeam, TARGET_VS_BEAM),
        [`≥${TARGET_VS_ERLANG_JS}× erlang_js`]: verdict(vsErlangJs, TARGET_VS_ERLANG_JS),
      };
    });
    out.push(formatTable(table), '');
  }
  const notes = codecs.filter((c) => c.missing).map((c) => `skipped ${c.name}: ${c.missing}`);
  out.push(...notes);
  out.push(`${OPTION_COLUMNS.decode.name}: ${OPTION_COLUMNS.decode.what}.`, `${OPTION_COLUMNS.encode.name}: ${OPTION_COLUMNS.encode.what}.`);
  const short = Object.entries(summary).flatMap(([name, s]) =>
    DIRECTIONS.flatMap((d) => [
      ...(s[d].metBeam === false ? [`${name} ${d} vs beam ${s[d].vsBeam!.toFixed(2)}`] : []),
      ...(s[d].metErlangJs === false ? [`${name} ${d} vs erlang_js ${s[d].vsErlangJs!.toFixed(2)}`] : []),
    ]),
  );
  out.push(short.length === 0 ? 'targets: all met' : `targets short: ${short.join('; ')}`);
  out.push(loadLine());
  console.log(out.join('\n'));

  if (process.env.NESSIE_ETF_CASES !== undefined) return; // a partial run: keep the results of the last full one
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  writeFileSync(join(benchDir, 'results', 'etf.txt'), out.join('\n') + '\n');
  writeFileSync(
    join(benchDir, 'results', 'etf.json'),
    JSON.stringify({ date: new Date().toISOString(), machine: machineLine(), load: loadLine(), rounds: ROUNDS, statistic: 'median', targets: { vsBeam: TARGET_VS_BEAM, vsErlangJs: TARGET_VS_ERLANG_JS }, sizes, results: rows, ratios: summary }, null, 2) + '\n',
  );
}

/** A plain-text table (console.table's box drawing, without its index column or quotes). */
function formatTable(rows: Array<Record<string, string>>): string {
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i])).join(' | ')} |`;
  return [line(cols), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n');
}

await main();
