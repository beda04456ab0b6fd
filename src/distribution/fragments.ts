/**
 * Reassembly of fragmented messages (DFLAG_FRAGMENTS, OTP 22+). A sequence starts
 * with a 69 header carrying the total fragment count as its FragmentId and ends
 * with FragmentId 1. A peer cannot make us hold unbounded memory: one byte budget
 * covers all the incomplete messages of a connection together, the number of open
 * sequences is bounded, and a sequence that gets no fragment for a while is dropped
 * with its connection (`expire`).
 */
import { DistProtocolError, ErrorCode } from '../errors.js';
import type { Atom } from '../term/types.js';

export interface FragmentLimits {
  /** Largest reassembled message, in bytes. */
  maxMessageSize: number;
  /** Most sequences open at once on one connection. */
  maxOpenSequences: number;
  /** Most bytes held by all incomplete messages of the connection together. */
  maxPendingBytes: number;
  /** A sequence that gets no fragment for this long (ms) is a protocol error. */
  timeoutMs: number;
}

interface Sequence {
  refs: Atom[];
  chunks: Buffer[];
  size: number;
  /** Memory its chunks hold: `size`, plus the fragment headers in front of the chunks kept as views. */
  held: number;
  nextFragment: bigint;
  /** When its last fragment arrived (ms, the clock passed in). */
  lastAt: number;
}

/** A message whose fragments have all arrived: its bytes and the atom cache refs of its start header. */
export interface Reassembled {
  bytes: Buffer;
  refs: Atom[];
}

/** A fragment kept without a copy: at least this big, behind at most this much header (a start header with atom cache refs is copied). */
const MIN_KEPT_FRAGMENT = 4096;
const MAX_KEPT_HEADER = 64;

export class FragmentAssembler {
  private readonly open = new Map<bigint, Sequence>();
  private pending = 0;

  constructor(
    private readonly limits: FragmentLimits,
    private readonly peer: string,
  ) {}

  /** The first fragment, arrived at `now` (ms). Returns the whole message when it was the only one. */
  start(sequenceId: bigint, fragmentId: bigint, refs: Atom[], chunk: Buffer, now: number): Reassembled | undefined {
    if (fragmentId < 1n) throw this.error(`fragment sequence ${sequenceId} starts with fragment id ${fragmentId}`);
    if (this.open.has(sequenceId)) throw this.error(`fragment sequence ${sequenceId} started twice`);
    if (fragmentId === 1n) return { bytes: chunk, refs };
    if (this.open.size >= this.limits.maxOpenSequences) throw this.error(`more than ${this.limits.maxOpenSequences} fragmented messages open`);
    const seq: Sequence = { refs, chunks: [], size: 0, held: 0, nextFragment: fragmentId - 1n, lastAt: now };
    this.hold(seq, chunk);
    this.open.set(sequenceId, seq);
    return undefined;
  }

  /** A continuation fragment, arrived at `now` (ms). Returns the whole message when it was the last one. */
  continue(sequenceId: bigint, fragmentId: bigint, chunk: Buffer, now: number): Reassembled | undefined {
    const seq = this.open.get(sequenceId);
    if (seq === undefined) throw this.error(`fragment for unknown sequence ${sequenceId}`);
    if (fragmentId !== seq.nextFragment) throw this.error(`fragment ${fragmentId} of sequence ${sequenceId} out of order`);
    if (fragmentId === 1n) {
      this.checkSize(seq.size + chunk.length, chunk.length);
      this.open.delete(sequenceId);
      this.pending -= seq.held;
      seq.chunks.push(chunk);
      return { bytes: Buffer.concat(seq.chunks, seq.size + chunk.length), refs: seq.refs };
    }
    this.hold(seq, chunk);
    seq.nextFragment = fragmentId - 1n;
    seq.lastAt = now;
    return undefined;
  }

  /**
   * Throws DistProtocolError ERR_FRAGMENT_TIMEOUT when a sequence got no fragment
   * for `timeoutMs` up to `now`: its sender has stalled or gone, and what it left
   * would be held for the life of the connection.
   */
  expire(now: number): void {
    for (const [id, seq] of this.open) {
      const idle = now - seq.lastAt;
      if (idle >= this.limits.timeoutMs) {
        throw this.error(`fragmented message ${id} got no fragment for ${idle} ms (limit ${this.limits.timeoutMs} ms)`, ErrorCode.FRAGMENT_TIMEOUT);
      }
    }
  }

  /** Bytes held by incomplete sequences (their fragments, and the headers in front of the big ones). */
  get pendingBytes(): number {
    return this.pending;
  }

  // A fragment is a view of the frame it came in. A frame inside a socket chunk is
  // copied, so that a sequence does not pin the chunk. A big one spread over chunks is
  // a buffer the framer joined, holding only the fragment and its header: kept as it
  // is, saving a copy, and its header counted in the budget, so that the budget bounds
  // the memory held (when the header would not fit, the fragment is copied instead).
  private hold(seq: Sequence, chunk: Buffer): void {
    const header = chunk.buffer.byteLength - chunk.length;
    const keep =
      chunk.byteOffset === header && header <= MAX_KEPT_HEADER && chunk.length >= MIN_KEPT_FRAGMENT &&
      this.pending + chunk.buffer.byteLength <= this.limits.maxPendingBytes;
    const held = keep ? chunk.buffer.byteLength : chunk.length;
    this.checkSize(seq.size + chunk.length, held);
    seq.chunks.push(keep ? chunk : Buffer.from(chunk));
    seq.size += chunk.length;
    seq.held += held;
    this.pending += held;
  }

  // Checked before a fragment is kept: its message's size and the connection's budget.
  private checkSize(messageSize: number, adding: number): void {
    if (messageSize > this.limits.maxMessageSize) throw this.error(`fragmented message exceeds ${this.limits.maxMessageSize} bytes`);
    if (this.pending + adding > this.limits.maxPendingBytes) {
      throw this.error(`incomplete fragmented messages would hold more than ${this.limits.maxPendingBytes} bytes`, ErrorCode.FRAGMENT_BUDGET);
    }
  }

  private error(message: string, code?: ErrorCode): DistProtocolError {
    return new DistProtocolError(message, this.peer, { code });
  }
}
