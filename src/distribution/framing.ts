/**
 * The only file that knows length prefixes: 2 bytes during the handshake (4 under
 * TLS, see HandshakeLengthBytes), 4 bytes once connected (where an empty packet is a tick). Framers are fed socket chunks
 * as they come and emit whole frames, without copying a frame that lies inside one
 * chunk. A length over the limit is refused before anything is buffered for it.
 * Spec: erts/doc/guides/erl_dist_protocol.md ("Distribution Handshake", "Protocol between connected nodes").
 */
import { DistProtocolError } from '../errors.js';

export interface FramerOptions {
  /** Largest packet accepted, in bytes. */
  maxFrameSize: number;
  onFrame: (frame: Buffer) => void;
  /**
   * A packet that came spread over socket chunks, as views of them in order
   * (`length` bytes together), for a receiver that copies it once anyway (fragment
   * reassembly). Without it, such a packet is joined and goes to onFrame.
   */
  onSplitFrame?: (parts: Buffer[], length: number) => void;
  /** A zero-length packet: the tick. */
  onTick?: () => void;
}

/**
 * The length prefix of handshake messages: 2 over TCP (inet_tcp_dist's `{packet, 2}`);
 * 4 over TLS, where inet_tls_dist opens the TLS socket with `{packet, 4}` and keeps
 * it for the handshake too.
 */
export type HandshakeLengthBytes = 2 | 4;

/**
 * Handshake messages, pulled one at a time: the handshake must stop reading at its
 * last message, because the first connected packet (4-byte framed) may arrive in the
 * same chunk and belongs to the connection.
 */
export class HandshakeReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxFrameSize: number,
    private readonly lengthBytes: HandshakeLengthBytes = 2,
  ) {}

  append(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** The next whole message, or undefined until one has arrived. Throws DistProtocolError for an oversized length. */
  shift(): Buffer | undefined {
    const n = this.lengthBytes;
    if (this.buf.length < n) return undefined;
    const len = n === 2 ? this.buf.readUInt16BE(0) : this.buf.readUInt32BE(0);
    if (len > this.maxFrameSize) throw new DistProtocolError(`handshake message of ${len} bytes exceeds ${this.maxFrameSize}`);
    if (this.buf.length < n + len) return undefined;
    const frame = Buffer.from(this.buf.subarray(n, n + len));
    this.buf = this.buf.subarray(n + len);
    return frame;
  }

  /** The bytes after the last message taken. */
  rest(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0) as Buffer;
    return rest;
  }
}

/**
 * 4-byte length packets of a connected node, fed socket chunks as they come; empty
 * packets are ticks. A frame inside one chunk is emitted as a view, without a copy.
 * A frame spread over chunks is collected as views of them and joined once, when
 * it is whole, or handed on as those views (onSplitFrame): copying the pending bytes
 * at every chunk would be quadratic (a 64 MB frame in 64 KiB chunks copied 32 GB).
 */
export class PacketFramer {
  /** Parts of the frame being collected (views of the chunks they came in). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Length of the frame being collected, once its prefix is read; -1 before. */
  private wanted = -1;
  /** A length prefix split over chunks. */
  private readonly prefix = Buffer.alloc(4);
  private prefixBytes = 0;

  constructor(private readonly o: FramerOptions) {}

  /** Feeds bytes; calls onFrame for each whole packet. Throws DistProtocolError for an oversized length. */
  push(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.wanted < 0) {
        let len: number;
        if (this.prefixBytes === 0 && end - pos >= 4) {
          len = chunk.readUInt32BE(pos);
          pos += 4;
        } else {
          while (this.prefixBytes < 4 && pos < end) this.prefix[this.prefixBytes++] = chunk[pos++];
          if (this.prefixBytes < 4) return;
          this.prefixBytes = 0;
          len = this.prefix.readUInt32BE(0);
        }
        if (len > this.o.maxFrameSize) throw new DistProtocolError(`packet of ${len} bytes exceeds the limit of ${this.o.maxFrameSize}`);
        if (len === 0) {
          this.o.onTick?.();
          continue;
        }
        this.wanted = len;
      }
      const missing = this.wanted - this.partsBytes;
      if (this.partsBytes === 0 && end - pos >= missing) {
        // The whole frame is in this chunk: a view.
        const frame = chunk.subarray(pos, pos + missing);
        pos += missing;
        this.wanted = -1;
        this.o.onFrame(frame);
        continue;
      }
      const take = Math.min(missing, end - pos);
      this.parts.push(chunk.subarray(pos, pos + take));
      this.partsBytes += take;
      pos += take;
      if (this.partsBytes < this.wanted) return;
      const parts = this.parts;
      const length = this.partsBytes;
      this.parts = [];
      this.partsBytes = 0;
      this.wanted = -1;
      if (this.o.onSplitFrame !== undefined) this.o.onSplitFrame(parts, length);
      else this.o.onFrame(Buffer.concat(parts, length));
    }
  }

  /** Bytes received but not yet part of an emitted packet. */
  get buffered(): number {
    return this.prefixBytes + this.partsBytes;
  }
}

/** `payload` with a 2-byte length prefix. */
export function frame2(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + payload.length);
  out.writeUInt16BE(payload.length, 0);
  payload.copy(out, 2);
  return out;
}

/** `payload` with a 4-byte length prefix. */
export function frame4(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

/** The tick: an empty 4-byte-framed packet. */
export const TICK = Buffer.alloc(4);
