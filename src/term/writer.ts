/**
 * A growable byte buffer for encoding. Instances are reused across encodes: the
 * encoder's writes each small result in place in a shared slab, from `origin` on
 * (see encode.ts), and its scratch writer's results are copied out. Length prefixes
 * whose value is only known at the end are reserved with `skip` and filled in with
 * `patchUint32`.
 *
 * A fixed writer (`Writer.over`) writes into a caller's buffer and never grows: it
 * throws BufferFull instead, which `encodeInto` turns into an error with the size needed.
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  /**
   * Where the bytes being written start in `buf` (0 unless set: encode's writer starts
   * each term where the last one ended in a shared slab). A grow moves only the bytes
   * from `origin` on, to the start of the new buffer, and sets `origin` to 0: so a
   * position kept across writes that may grow (a length to patch) is kept relative to
   * `origin`, as `skip` returns it and `patchUint32` takes it.
   */
  origin = 0;
  /** Writes into a caller's buffer, up to `limit`: never grows. */
  fixed = false;
  /** A DataView of `buf` (made again when `buf` is another buffer: see `words`). */
  private view: DataView<ArrayBufferLike> = EMPTY_VIEW;
  private viewOf: Buffer | undefined = undefined;

  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** A writer that writes into `buf` from `offset` and never grows (encodeInto). */
  static over(buf: Buffer, offset: number): Writer {
    const w = new Writer(0);
    w.point(buf, offset);
    return w;
  }

  /** Makes this a fixed writer over `buf` from `offset` (a reused one: encodeInto's). */
  point(buf: Buffer, offset: number): void {
    this.buf = buf;
    this.pos = offset;
    this.fixed = true;
  }

  reset(): void {
    this.pos = 0;
    this.origin = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    this.grow(needed, n);
  }

  /**
   * Replaces the buffer by a larger one, keeping the bytes from `origin` on. Growth is
   * geometric (doubling), so that many small writes cost linear time; but a large write
   * (a big binary) grows to what it needs plus LARGE_WRITE_SLACK (the first of a term)
   * or a quarter (later ones), so that the buffer is mostly full afterwards and `encode`
   * can hand it over as the result instead of copying it (see takeFrom).
   */
  private grow(needed: number, n: number): void {
    if (this.fixed) throw BUFFER_FULL;
    const origin = this.origin;
    const kept = this.pos - origin;
    needed -= origin;
    let size = Math.max((this.buf.length - origin) * 2, 256);
    if (n >= LARGE_WRITE) size = kept < n >> 2 ? needed + LARGE_WRITE_SLACK : needed + (needed >> 2);
    else while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, origin, this.pos);
    this.buf = grown;
    this.pos = kept;
    this.origin = 0;
  }

  uint8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  uint16(v: number): void {
    this.ensure(2);
    const buf = this.buf;
    const at = this.pos;
    buf[at] = v >>> 8;
    buf[at + 1] = v;
    this.pos = at + 2;
  }

  uint32(v: number): void {
    this.ensure(4);
    // By hand: Buffer's writeUInt32BE checks its arguments, which shows in profiles.
    const buf = this.buf;
    const at = this.pos;
    buf[at] = v >>> 24;
    buf[at + 1] = v >>> 16;
    buf[at + 2] = v >>> 8;
    buf[at + 3] = v;
    this.pos = at + 4;
  }

  /** A tag byte then a 32-bit big-endian value (the head of INTEGER_EXT, BINARY_EXT...), by hand as uint32. */
  tagUint32(tag: number, v: number): void {
    this.ensure(5);
    const buf = this.buf;
    const at = this.pos;
    buf[at] = tag;
    buf[at + 1] = v >>> 24;
    buf[at + 2] = v >>> 16;
    buf[at + 3] = v >>> 8;
    buf[at + 4] = v;
    this.pos = at + 5;
  }

  int32(v: number): void {
    // Two's complement: the same bytes as the unsigned value.
    this.uint32(v);
  }

  uint64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /**
   * Writes `n` bytes given as big-endian 32-bit words from `words[from]` on (the last
   * word zero-padded past `n`): four bytes a store, which beats a byte loop for the
   * short runs atoms are. Nothing past the `n` bytes is written.
   */
  words(words: readonly number[], from: number, n: number): void {
    this.ensure(n);
    const buf = this.buf;
    // `buf` is a public field that callers replace: the view follows it.
    if (this.viewOf !== buf) {
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
      this.viewOf = buf;
    }
    const view = this.view;
    let at = this.pos;
    const end = at + n;
    let k = from;
    for (; at + 4 <= end; at += 4) view.setInt32(at, words[k++]);
    if (at < end) {
      const last = words[k];
      buf[at] = last >>> 24;
      if (at + 1 < end) {
        buf[at + 1] = last >>> 16;
        if (at + 2 < end) buf[at + 2] = last >>> 8;
      }
    }
    this.pos = end;
  }

  /** Writes `s` as UTF-8 and returns the number of bytes written. */
  utf8(s: string): number {
    // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
    this.ensure(s.length * 3);
    const n = this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
    return n;
  }

  /** Reserves `n` bytes to be filled in later; returns their offset from `origin`, which a grow keeps. */
  skip(n: number): number {
    this.ensure(n);
    const at = this.pos - this.origin;
    this.pos += n;
    return at;
  }

  /** Fills in 4 bytes reserved by `skip` (`at` is what it returned). */
  patchUint32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, this.origin + at);
  }

  /**
   * Everything written since `from`, as a Buffer of its own: the writer's own buffer
   * when that is at least three quarters full (no copy; the writer starts a fresh
   * buffer next time), else a copy.
   */
  takeFrom(from: number): Buffer {
    const n = this.pos - from;
    if (n >= HAND_OVER_MIN && n >= this.buf.length - (this.buf.length >> 2)) {
      const out = this.buf.subarray(from, this.pos);
      this.buf = Buffer.allocUnsafe(1024);
      return out;
    }
    return this.copyFrom(from);
  }

  /** A copy of everything written since `from`. */
  copyFrom(from: number): Buffer {
    const n = this.pos - from;
    const out = Buffer.allocUnsafe(n);
    // A loop beats the native copy for small messages (the copy was a third of encoding one).
    if (n <= 256) {
      const buf = this.buf;
      for (let i = 0; i < n; i++) out[i] = buf[from + i];
    } else {
      this.buf.copy(out, 0, from, this.pos);
    }
    return out;
  }
}

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
/** A single write at least this large grows the buffer to fit it rather than doubling it. */
const LARGE_WRITE = 16 * 1024;
/**
 * What the first large write of a term (one at least four times what is already written:
 * a message that is mostly one binary) grows the buffer to beyond what it takes: room
 * for a little more (a tuple's last atoms), so that the result, handed over, holds little
 * unused memory. Later large writes grow by a quarter more, so that many of them cost
 * linear time.
 */
const LARGE_WRITE_SLACK = 256;
/** Results at least this large may be handed over instead of copied: below it, the copy is cheap. */
const HAND_OVER_MIN = 16 * 1024;

/** Thrown by a fixed writer that is out of room; never escapes the encoder (encodeInto catches it). */
export class BufferFull extends Error {
  constructor() {
    super('encodeInto: the buffer is too small');
  }
}
const BUFFER_FULL = new BufferFull();
