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
  /** Memory its chunks hold: `size`, plus what the buffers of the pieces kept as views hold besides them. */
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

/** A piece of a fragment at least this big is kept without a copy. */
const MIN_KEPT_PIECE = 4096;

/** A fragment's bytes: one buffer, or the pieces of the socket chunks it arrived in, in order. */
export type Body = Buffer | readonly Buffer[];

export class FragmentAssembler {
  private readonly open = new Map<bigint, Sequence>();
  private pending = 0;
  /** The buffer under the last piece kept as a view, already counted in `pending`. */
  private lastPinned: ArrayBufferLike | undefined;

  constructor(
    private readonly limits: FragmentLimits,
    private readonly peer: string,
  ) {}

  /**
   * The first fragment, arrived at `now` (ms): its bytes, in one buffer or in the
   * pieces of the socket chunks it came in (see PacketFramer's onSplitFrame). Returns
   * the whole message when it was the only one.
   */
  start(sequenceId: bigint, fragmentId: bigint, refs: Atom[], body: Body, now: number): Reassembled | undefined {
    if (fragmentId < 1n) throw this.error(`fragment sequence ${sequenceId} starts with fragment id ${fragmentId}`);
    if (this.open.has(sequenceId)) throw this.error(`fragment sequence ${sequenceId} started twice`);
    if (fragmentId === 1n) return { bytes: Buffer.isBuffer(body) ? body : Buffer.concat(body), refs };
    if (this.open.size >= this.limits.maxOpenSequences) throw this.error(`more than ${this.limits.maxOpenSequences} fragmented messages open`);
    const seq: Sequence = { refs, chunks: [], size: 0, held: 0, nextFragment: fragmentId - 1n, lastAt: now };
    this.holdBody(seq, body);
    this.open.set(sequenceId, seq);
    return undefined;
  }

  /**
   * A continuation fragment, arrived at `now` (ms), in one buffer or in pieces. Returns
   * the whole message when it was the last one: the only copy of its bytes the
   * message costs, since its fragments were held as views.
   */
  continue(sequenceId: bigint, fragmentId: bigint, body: Body, now: number): Reassembled | undefined {
    const seq = this.open.get(sequenceId);
    if (seq === undefined) throw this.error(`fragment for unknown sequence ${sequenceId}`);
    if (fragmentId !== seq.nextFragment) throw this.error(`fragment ${fragmentId} of sequence ${sequenceId} out of order`);
    if (fragmentId === 1n) {
      const pieces = Buffer.isBuffer(body) ? [body] : body;
      let length = 0;
      for (const p of pieces) length += p.length;
      this.checkSize(seq.size + length, length);
      this.open.delete(sequenceId);
      this.pending -= seq.held;
      this.lastPinned = undefined;
      for (const p of pieces) seq.chunks.push(p);
      return { bytes: Buffer.concat(seq.chunks, seq.size + length), refs: seq.refs };
    }
    this.holdBody(seq, body);
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

  private holdBody(seq: Sequence, body: Body): void {
    if (Buffer.isBuffer(body)) this.hold(seq, body);
    else for (const piece of body) this.hold(seq, piece);
  }

  // A piece of a fragment is a view of the buffer it came in: a socket chunk, or a
  // frame the framer joined. A big piece is kept as it is, saving a copy (the message
  // is copied once, when it is whole), and the whole buffer it pins is counted in the
  // budget, once (consecutive pieces often share a chunk), so that the budget bounds
  // the memory held. A small piece is copied so as not to pin a big chunk for it; so
  // is one whose buffer would not fit the budget.
  private hold(seq: Sequence, piece: Buffer): void {
    const shared = piece.buffer === this.lastPinned;
    const pinned = shared ? 0 : piece.buffer.byteLength;
    const keep = piece.length >= MIN_KEPT_PIECE && this.pending + pinned <= this.limits.maxPendingBytes;
    const held = keep ? pinned : piece.length;
    this.checkSize(seq.size + piece.length, held);
    if (keep) this.lastPinned = piece.buffer;
    seq.chunks.push(keep ? piece : Buffer.from(piece));
    seq.size += piece.length;
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
