import { DecodeError, ErrorCode } from '../errors.js';
import { bufferView, smallCopy } from './buffer-view.js';

/** How the decoder returns binaries (DecodeOptions.binaries). */
export const BinariesMode = { Buffers: 0, KeyStrings: 1, Strings: 2 } as const;
export type BinariesMode = (typeof BinariesMode)[keyof typeof BinariesMode];

/** Binaries shorter than this are copied out of large inputs; longer ones are views (BEAM's heap binary limit). */
export const COPY_BINARIES_BELOW = 64;
/**
 * Inputs whose memory (their ArrayBuffer) is at most this large get views for their small
 * binaries too: a view costs about two thirds of a copy (bufferView against smallCopy:
 * both make a view, the copy also moves the bytes), and a kept view then pins at most
 * 8 KiB, as a copy does (its arena's). Larger inputs (a big frame, a socket chunk) get
 * copies, so a small kept binary never pins them.
 */
export const VIEW_SMALL_BINARIES_IN = 8 * 1024;

/** The budget of a Reader that has none: the largest small integer, refilled if ever used up. */
const NO_BUDGET = 0x3fffffff;

/**
 * A cursor over untrusted bytes. Every read checks that the bytes are there first,
 * and `need` is called with a length read from the input before anything of that
 * length is allocated, so a forged length can never make us allocate more than the
 * input holds.
 */
export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  /**
   * Terms this decode may still produce (the decode budget), when `limited`. Containers
   * charge for all their elements when they open, before anything is allocated for them.
   * Without a budget it starts at a large small integer rather than Infinity: a double
   * field would cost every Reader a heap number, measurable on small messages.
   */
  termsLeft = NO_BUDGET;
  limited = false;
  binaries: BinariesMode = BinariesMode.Buffers;

  /**
   * `buf`'s memory and offset, read at the first binary (the `buffer` getter costs a tenth
   * of decoding a small message, which may hold no binary), then reused for every view.
   */
  private memory: ArrayBufferLike | undefined = undefined;
  private base = 0;
  /** Small binaries are views too (see VIEW_SMALL_BINARIES_IN); undefined until a small binary asks. */
  private smallViews: boolean | undefined = undefined;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes can be read. */
  need(n: number, tag?: number): void {
    if (this.end - this.pos < n) {
      throw new DecodeError(`truncated input: ${n} bytes needed, ${this.end - this.pos} left`, this.pos, tag);
    }
  }

  uint8(): number {
    if (this.pos >= this.end) this.need(1);
    return this.buf[this.pos++];
  }

  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = uint32At(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = int32At(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A view of the next `n` bytes (no copy). */
  view(n: number, tag?: number): Buffer {
    this.need(n, tag);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /**
   * The next `n` bytes as a binary: a view of the input when `n` is at least
   * COPY_BINARIES_BELOW or the input is small (smallViews), else a copy.
   */
  binary(n: number, tag?: number): Buffer {
    this.need(n, tag);
    const buf = this.buf;
    const at = this.pos;
    this.pos = at + n;
    if (this.memory === undefined) {
      this.memory = buf.buffer;
      this.base = buf.byteOffset;
    }
    if (n >= COPY_BINARIES_BELOW || (this.smallViews ??= this.memory.byteLength <= VIEW_SMALL_BINARIES_IN)) {
      return bufferView(this.memory, this.base + at, n);
    }
    return smallCopy(buf, at, n);
  }

  /** A copy of the next `n` bytes. */
  copy(n: number, tag?: number): Buffer {
    this.need(n, tag);
    const v = Buffer.allocUnsafe(n);
    this.buf.copy(v, 0, this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Takes `n` terms from the budget; throws DecodeError ERR_TERM_DECODE_BUDGET when it runs out. */
  charge(n: number, tag?: number): void {
    if ((this.termsLeft -= n) < 0) this.overBudget(tag);
  }

  /** Sets the decode budget. */
  limit(terms: number): void {
    this.termsLeft = terms;
    this.limited = true;
  }

  private overBudget(tag: number | undefined): void {
    if (!this.limited) {
      this.termsLeft = NO_BUDGET;
      return;
    }
    throw new DecodeError('the term holds more terms than the decode budget allows', this.pos, tag, { code: ErrorCode.TERM_DECODE_BUDGET });
  }

  fail(message: string, tag?: number, at = this.pos): never {
    throw new DecodeError(message, at, tag);
  }
}

/**
 * Big-endian 32-bit reads by hand, for bytes already checked to be there: Buffer's
 * readUInt32BE/readInt32BE check their arguments again, which shows in decode profiles.
 */
export function uint32At(buf: Buffer, at: number): number {
  return buf[at] * 0x1000000 + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]);
}

export function int32At(buf: Buffer, at: number): number {
  return (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
}
