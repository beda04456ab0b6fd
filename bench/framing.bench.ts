/**
 * Micro-benchmark of the receive path's byte handling, without sockets: the framer
 * (PacketFramer) fed one 8-64 MB packet in 64 KiB chunks (what a socket hands over),
 * and the framer with the fragment assembler, a message of that size sent as BEAM
 * sends it (64 KiB fragments, each with its fragment header), fed in chunks that do
 * not line up with the fragments. The figure is the time per MB; it must stay flat as
 * the size grows (issue 10: copying the pending bytes at every chunk made it grow with
 * the size). Each figure is the median of ROUNDS runs, printed with its ratio to the
 * 8 MB one. Beside them, the floor: allocating a buffer of that size and writing it
 * once, what any receiver pays for a fresh message. glibc maps allocations of 32 MB and
 * more fresh from the kernel each time, so their first write page-faults (about ten
 * times the cost of reused memory); that step shows in every column alike, so the
 * figure that must stay flat is the time over the floor.
 *
 * `NESSIE_SRC=/other/checkout/src npx tsx framing.bench.ts` measures other code.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadLine, machineLine } from './machine.js';

// A full GC before every run, so that each starts with the last run's buffers freed:
// without it, whether a run gets reused or fresh memory depends on when V8 last collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const src = process.env.NESSIE_SRC ?? new URL('../src/', import.meta.url).pathname;
// Run by compiled.mjs, this file is JavaScript and so is the src it imports.
const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
const { PacketFramer, frame4 } = (await import(`${src}/distribution/framing.${ext}`)) as typeof import('../src/distribution/framing.js');
const { FragmentAssembler } = (await import(`${src}/distribution/fragments.${ext}`)) as typeof import('../src/distribution/fragments.js');
const { fragmentHeader, readFragmentIds } = (await import(`${src}/distribution/dist-header.${ext}`)) as typeof import('../src/distribution/dist-header.js');

const MB = 1 << 20;
const SIZES = [8, 16, 32, 64];
const CHUNK = 64 * 1024;
const FRAGMENT = 64 * 1024;
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `bytes` cut into separate chunk buffers (as a socket delivers them), the first `offset` bytes short so frames straddle chunks. */
function chunks(bytes: Buffer, offset: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, first = true; at < bytes.length; first = false) {
    const end = Math.min(bytes.length, at + (first ? CHUNK - offset : CHUNK));
    out.push(Buffer.from(bytes.subarray(at, end)));
    at = end;
  }
  return out;
}

/** One packet of `size` bytes through the framer; ms. */
function framerRun(input: Buffer[], size: number): number {
  let got = 0;
  const framer = new PacketFramer({ maxFrameSize: 128 * MB, onFrame: (f) => (got = f.length) });
  const t0 = performance.now();
  for (const c of input) framer.push(c);
  const ms = performance.now() - t0;
  if (got !== size) throw new Error(`framer gave ${got} bytes, expected ${size}`);
  return ms;
}

/** A message of `size` bytes in 64 KiB fragments, as the stream a BEAM sender writes. */
function fragmentedStream(size: number): Buffer {
  const body = Buffer.alloc(size, 7);
  const count = Math.ceil(size / FRAGMENT);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    // A start fragment's atom cache part (empty: 0 refs) comes after its header.
    const head = i === 0 ? [fragmentHeader(true, 1n, BigInt(count)), Buffer.from([0])] : [fragmentHeader(false, 1n, BigInt(count - i))];
    frames.push(frame4(Buffer.concat([...head, body.subarray(i * FRAGMENT, (i + 1) * FRAGMENT)])));
  }
  return Buffer.concat(frames);
}

/** The fragmented message through the framer and the assembler, as DistConnection wires them; ms. */
function assemblerRun(input: Buffer[], size: number): number {
  let got = 0;
  const assembler = new FragmentAssembler({ maxMessageSize: 128 * MB, maxOpenSequences: 4, maxPendingBytes: 128 * MB, timeoutMs: 60_000 }, 'bench');
  const onPiece = (head: Buffer, rest: Buffer[]) => {
    const ids = readFragmentIds(head, 2, 'bench');
    const at = head[1] === 69 ? ids.offset + 1 : ids.offset; // a start header has an (empty) atom cache part
    const body = [head.subarray(at), ...rest];
    const whole = head[1] === 69 ? assembler.start(ids.sequenceId, ids.fragmentId, [], body, 0) : assembler.continue(ids.sequenceId, ids.fragmentId, body, 0);
    if (whole !== undefined) got = whole.bytes.length;
  };
  const framer = new PacketFramer({
    maxFrameSize: 128 * MB,
    onFrame: (f) => onPiece(f, []),
    onSplitFrame: (parts) => onPiece(parts[0], parts.slice(1)),
  });
  const t0 = performance.now();
  for (const c of input) framer.push(c);
  const ms = performance.now() - t0;
  if (got !== size) throw new Error(`assembler gave ${got} bytes, expected ${size}`);
  return ms;
}

/** The floor: a fresh buffer of `size` bytes, written once; ms. */
function freshBufferRun(size: number): number {
  const t0 = performance.now();
  const b = Buffer.allocUnsafe(size);
  b.fill(1);
  const ms = performance.now() - t0;
  if (b[size - 1] !== 1) throw new Error('unwritten');
  return ms;
}

console.log(machineLine());
console.log(`src: ${src}`);
const rows: Array<Record<string, string | number>> = [];
/** The 8 MB figures, over the floor. */
let base: { framer: number; assembler: number } | undefined;
for (const mb of SIZES) {
  const size = mb * MB;
  const framed = chunks(frame4(Buffer.alloc(size, 3)), 1000);
  const fragmented = chunks(fragmentedStream(size), 1000);
  const framer: number[] = [];
  const assembler: number[] = [];
  const fresh: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    gc();
    fresh.push(freshBufferRun(size) / mb);
    gc();
    framer.push(framerRun(framed, size) / mb);
    gc();
    assembler.push(assemblerRun(fragmented, size) / mb);
  }
  const f = median(framer);
  const a = median(assembler);
  const n = median(fresh);
  base ??= { framer: f - n, assembler: a - n };
  rows.push({
    'frame size (MB)': mb,
    'floor ms/MB': Number(n.toFixed(3)),
    'framer ms/MB': Number(f.toFixed(3)),
    'framer - floor': Number((f - n).toFixed(3)),
    'vs 8 MB': Number(((f - n) / base.framer).toFixed(2)),
    'framer + assembler ms/MB': Number(a.toFixed(3)),
    'assembler - floor': Number((a - n).toFixed(3)),
    'vs 8 MB ': Number(((a - n) / base.assembler).toFixed(2)),
  });
}
console.log(`\nreceive path per MB, 64 KiB chunks, median of ${ROUNDS} (over the floor must stay flat: ratio near 1); ${loadLine()}`);
console.table(rows);
