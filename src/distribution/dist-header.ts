/**
 * The distribution header that precedes each message once DFLAG_DIST_HDR_ATOM_CACHE
 * is agreed: atom cache updates and references, and the fragment header variants.
 * Spec: erts/doc/guides/erl_ext_dist.md, "Distribution Header".
 *
 * We read full headers (a BEAM peer fills our cache as it likes); what we write is in
 * atom-cache-out.ts (references for control messages' atoms) or EMPTY_DIST_HEADER.
 */
import { DistProtocolError } from '../errors.js';
import { Atom, MAX_ATOM_CHARACTERS } from '../term/types.js';
import { Tag, VERSION_MAGIC } from '../term/tags.js';
import { Writer } from '../term/writer.js';

/** 131, 68, 0: a normal distribution header with no atom cache references. */
export const EMPTY_DIST_HEADER = Buffer.from([VERSION_MAGIC, Tag.DIST_HEADER, 0]);

const SEGMENT_SIZE = 256;
const SEGMENTS = 8;

/** The receiving side's atom cache of one connection: 8 segments of 256 atoms. */
export class AtomCache {
  /** Made by the first header with references: a peer that sends none (a TS node) costs no table. */
  private entries: Array<Atom | undefined> | undefined;

  /**
   * Reads the atom cache part of a header at `offset` (the NumberOfAtomCacheRefs
   * byte), applies its new entries, and returns the atoms its references name, in
   * order, with the offset after it.
   *
   * | 1 | N/2+1 (when N > 0) | ... |
   * | NumberOfAtomCacheRefs | Flags (a half byte per ref, then LongAtoms) | AtomCacheRefs |
   */
  readRefs(buf: Buffer, offset: number, peer: string): { refs: Atom[]; offset: number } {
    let pos = offset;
    need(buf, pos, 1, peer);
    const count = buf[pos++];
    if (count === 0) return { refs: [], offset: pos };
    const entries = (this.entries ??= new Array<Atom | undefined>(SEGMENTS * SEGMENT_SIZE));
    const flagBytes = (count >> 1) + 1;
    need(buf, pos, flagBytes, peer);
    const flagsAt = pos;
    pos += flagBytes;
    const longAtoms = (halfByte(buf, flagsAt, count) & 0x01) === 1;
    const refs = new Array<Atom>(count);
    for (let i = 0; i < count; i++) {
      const flag = halfByte(buf, flagsAt, i);
      const segment = flag & 0x07;
      need(buf, pos, 1, peer);
      const index = segment * SEGMENT_SIZE + buf[pos++];
      if ((flag & 0x08) !== 0) {
        need(buf, pos, longAtoms ? 2 : 1, peer);
        const len = longAtoms ? buf.readUInt16BE(pos) : buf[pos];
        pos += longAtoms ? 2 : 1;
        need(buf, pos, len, peer);
        // DFLAG_UTF8_ATOMS is mandatory for us, so cache texts are UTF-8.
        const name = buf.toString('utf8', pos, pos + len);
        pos += len;
        if ([...name].length > MAX_ATOM_CHARACTERS) throw new DistProtocolError('atom in distribution header is too long', peer);
        const a = Atom.intern(name);
        entries[index] = a;
        refs[i] = a;
      } else {
        const a = entries[index];
        if (a === undefined) throw new DistProtocolError(`atom cache reference to empty entry ${index}`, peer);
        refs[i] = a;
      }
    }
    return { refs, offset: pos };
  }
}

/** Throws unless `n` bytes are left at `pos` (a function, not a closure per header: this runs per message). */
function need(buf: Buffer, pos: number, n: number, peer: string): void {
  if (buf.length - pos < n) throw new DistProtocolError(`distribution header truncated at byte ${pos}`, peer);
}

/** The `i`th half byte of the Flags field at `flagsAt`: low half first. */
function halfByte(buf: Buffer, flagsAt: number, i: number): number {
  return (buf[flagsAt + (i >> 1)] >> ((i & 1) * 4)) & 0x0f;
}

/**
 * Where the atom cache part of a header at `offset` ends, when `buf` holds all of it;
 * undefined when it runs past the end of `buf` (a start fragment whose header
 * straddles socket chunks). Reads nothing into the cache.
 */
export function atomCacheRefsEnd(buf: Buffer, offset: number): number | undefined {
  if (offset >= buf.length) return undefined;
  const count = buf[offset];
  let pos = offset + 1;
  if (count === 0) return pos;
  const flagsAt = pos;
  pos += (count >> 1) + 1;
  if (pos > buf.length) return undefined;
  const longAtoms = (halfByte(buf, flagsAt, count) & 0x01) === 1;
  for (let i = 0; i < count; i++) {
    pos += 1; // the index in the segment
    if ((halfByte(buf, flagsAt, i) & 0x08) === 0) continue;
    const lenBytes = longAtoms ? 2 : 1;
    if (pos + lenBytes > buf.length) return undefined;
    pos += lenBytes + (longAtoms ? buf.readUInt16BE(pos) : buf[pos]);
  }
  return pos <= buf.length ? pos : undefined;
}

/**
 * | 1   | 1  | 8          | 8          |
 * | 131 | 69 | SequenceId | FragmentId |  (then atom cache refs, as in a normal header)
 * | 131 | 70 | SequenceId | FragmentId |  (then the next bytes of the message)
 */
export function readFragmentIds(buf: Buffer, offset: number, peer: string): { sequenceId: bigint; fragmentId: bigint; offset: number } {
  if (buf.length - offset < 16) throw new DistProtocolError('fragment header truncated', peer);
  return { sequenceId: buf.readBigUInt64BE(offset), fragmentId: buf.readBigUInt64BE(offset + 8), offset: offset + 16 };
}

/** Bytes of a fragment header: 131, 69 or 70, SequenceId, FragmentId. */
export const FRAGMENT_HEADER_SIZE = 18;

/**
 * Writes a fragment header (start: 69; continuation: 70), its ids safe integers
 * written as 64 bits. A start fragment's atom cache part is not in it: it comes first
 * in the fragment's data, as the message's normal header had it after 131, 68.
 */
export function writeFragmentHeader(w: Writer, start: boolean, sequenceId: number, fragmentId: number): void {
  w.uint8(VERSION_MAGIC);
  w.uint8(start ? Tag.DIST_FRAG_HEADER : Tag.DIST_FRAG_CONT);
  writeUint64(w, sequenceId);
  writeUint64(w, fragmentId);
}

/** A fragment header on its own (what a peer sends; tests and benchmarks build streams with it). */
export function fragmentHeader(start: boolean, sequenceId: bigint, fragmentId: bigint): Buffer {
  const w = new Writer(FRAGMENT_HEADER_SIZE);
  writeFragmentHeader(w, start, Number(sequenceId), Number(fragmentId));
  return w.buf;
}

/** A safe integer as 64 bits, big-endian, in two 32-bit halves (no BigInt on the send path). */
function writeUint64(w: Writer, n: number): void {
  w.uint32(Math.floor(n / 0x1_0000_0000));
  w.uint32(n >>> 0);
}
