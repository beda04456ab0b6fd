/**
 * Processes: the memory of 100,000 idle TS processes (spawned, never used: each one a
 * pid, a mailbox and its registry entry) and how many of them exit per second, beside
 * BEAM's own (processes_bench.erl, compiled: idle processes in a receive, their
 * `erlang:memory(processes)`, and the time until all have exited after a `stop` each).
 * Issue 10's targets: TS processes stay at about 345 bytes each (what they cost before
 * exits were made cheap), and an exit builds no Error with a stack trace.
 *
 * Interleaved rounds (TS, then BEAM), medians. `NESSIE_SRC=/path/to/other/src`
 * measures another checkout's code, for before/after comparisons.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { freeSharedPort } from '../test/support/ports.js';
import { loadLine, machineLine } from './machine.js';

const src = process.env.NESSIE_SRC ?? new URL('../src/', import.meta.url).pathname;
// Run by compiled.mjs, this file is JavaScript and so is the src it imports.
const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
const srcLabel = process.env.NESSIE_SRC_LABEL ?? src;
const { Node, silentLogger } = (await import(`${src}/index.${ext}`)) as typeof import('../src/index.js');

const N = 100_000;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Bytes per idle TS process before this work (issue 10); the target is to stay about there. */
const BYTES_BEFORE = 345;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  console.log(machineLine());
  const dir = mkdtempSync(join(tmpdir(), 'nessie-processes-'));
  const port = await freeSharedPort(['127.0.0.3']);
  const node = await Node.start({ name: 'ts@127.0.0.3', cookie: 'processes-bench', epmd: false, port, logger: silentLogger });
  const ts = { bytes: [] as number[], exits: [] as number[] };
  const beam = { bytes: [] as number[], exits: [] as number[] };
  try {
    execFileSync('erlc', ['-o', dir, new URL('processes_bench.erl', import.meta.url).pathname]);
    for (let round = 0; round < ROUNDS; round++) {
      const before = heapAfterGc();
      const ps = Array.from({ length: N }, () => node.spawn());
      // The array holding them costs 8 bytes a process; it is not the processes' own.
      ts.bytes.push((heapAfterGc() - before) / N - 8);
      const t0 = performance.now();
      for (const p of ps) p.exit();
      ts.exits.push(N / ((performance.now() - t0) / 1000));
      const [bytes, exits] = execFileSync('erl', ['-noshell', '-pa', dir, '-run', 'processes_bench', 'main', String(N)], { encoding: 'utf8' })
        .trim()
        .split(/\s+/)
        .map(Number);
      beam.bytes.push(bytes);
      beam.exits.push(exits);
    }
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const bytes = median(ts.bytes);
  const exits = median(ts.exits);
  console.log(`\n${N.toLocaleString('en')} idle processes: medians of ${ROUNDS} interleaved rounds (src: ${srcLabel}); ${loadLine()}`);
  console.table([
    {
      measure: 'bytes per idle process',
      TS: Math.round(bytes),
      BEAM: Math.round(median(beam.bytes)),
      'TS / BEAM': Number((bytes / median(beam.bytes)).toFixed(2)),
      target: `about ${BYTES_BEFORE} (before)`,
      met: bytes <= BYTES_BEFORE * 1.1 ? 'yes' : 'NO',
    },
    {
      measure: 'exits per second',
      TS: Math.round(exits).toLocaleString('en'),
      BEAM: Math.round(median(beam.exits)).toLocaleString('en'),
      'TS / BEAM': Number((exits / median(beam.exits)).toFixed(2)),
      target: 'no Error per exit',
      met: '',
    },
  ]);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
