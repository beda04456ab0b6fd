/**
 * Reassembly of fragmented messages (DFLAG_FRAGMENTS, OTP 22+). A sequence starts
 * with a 69 header carrying the total fragment count as its FragmentId and ends
 * with FragmentId 1. Sizes and the number of open sequences are bounded, so a peer
 * cannot make us hold unbounded memory.
 */
import { DistProtocolError } from '../errors.js';
import type { Atom } from '../term/types.js';

export interface FragmentLimits {
  /** Largest reassembled message, in bytes. */
  maxMessageSize: number;
  /** Most sequences open at once on one connection. */
  maxOpenSequences: number;
}

interface Sequence {
  refs: Atom[];
  chunks: Buffer[];
  size: number;
  nextFragment: bigint;
}

/** A message whose fragments have all arrived: its bytes and the atom cache refs of its start header. */
export interface Reassembled {
  bytes: Buffer;
  refs: Atom[];
}

export class FragmentAssembler {
  private readonly open = new Map<bigint, Sequence>();

  constructor(
    private readonly limits: FragmentLimits,
    private readonly peer: string,
  ) {}

  /** The first fragment. Returns the whole message when it was the only one. */
  start(sequenceId: bigint, fragmentId: bigint, refs: Atom[], chunk: Buffer): Reassembled | undefined {
    if (fragmentId < 1n) throw this.error(`fragment sequence ${sequenceId} starts with fragment id ${fragmentId}`);
    if (this.open.has(sequenceId)) throw this.error(`fragment sequence ${sequenceId} started twice`);
    if (fragmentId === 1n) return { bytes: chunk, refs };
    if (this.open.size >= this.limits.maxOpenSequences) throw this.error(`more than ${this.limits.maxOpenSequences} fragmented messages open`);
    // Frames are views into socket chunks; copy so a sequence does not pin them.
    const seq: Sequence = { refs, chunks: [Buffer.from(chunk)], size: chunk.length, nextFragment: fragmentId - 1n };
    this.checkSize(seq);
    this.open.set(sequenceId, seq);
    return undefined;
  }

  /** A continuation fragment. Returns the whole message when it was the last one. */
  continue(sequenceId: bigint, fragmentId: bigint, chunk: Buffer): Reassembled | undefined {
    const seq = this.open.get(sequenceId);
    if (seq === undefined) throw this.error(`fragment for unknown sequence ${sequenceId}`);
    if (fragmentId !== seq.nextFragment) throw this.error(`fragment ${fragmentId} of sequence ${sequenceId} out of order`);
    seq.size += chunk.length;
    this.checkSize(seq);
    if (fragmentId === 1n) {
      this.open.delete(sequenceId);
      seq.chunks.push(chunk);
      return { bytes: Buffer.concat(seq.chunks, seq.size), refs: seq.refs };
    }
    seq.chunks.push(Buffer.from(chunk));
    seq.nextFragment = fragmentId - 1n;
    return undefined;
  }

  /** Bytes held by incomplete sequences. */
  get pendingBytes(): number {
    let n = 0;
    for (const s of this.open.values()) n += s.size;
    return n;
  }

  private checkSize(seq: Sequence): void {
    if (seq.size > this.limits.maxMessageSize) throw this.error(`fragmented message exceeds ${this.limits.maxMessageSize} bytes`);
  }

  private error(message: string): DistProtocolError {
    return new DistProtocolError(message, this.peer);
  }
}
