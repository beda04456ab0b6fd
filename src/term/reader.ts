import { DecodeError, ErrorCode } from '../errors.js';

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
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
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
