/**
 * One live connection to another node, after the handshake: 4-byte framed packets,
 * ticks both ways, the distribution header on receive, fragments both ways, and a
 * coalescing send queue with a busy limit.
 *
 * Limits, so that a peer cannot exhaust our memory: a decode budget per message
 * (maxTermsPerMessage), a hard cap on the send queue (maxQueuedBytes), one byte budget
 * for all incomplete fragmented messages (maxFragmentBytes) and a timeout for those
 * that stall (fragmentTimeoutMs). Each closes only this connection, with a logged
 * reason whose error code names the limit.
 *
 * Sending honours the peer's flags: the pass-through form (112) when neither
 * DFLAG_DIST_HDR_ATOM_CACHE nor DFLAG_FRAGMENTS is agreed, no fragments without
 * DFLAG_FRAGMENTS, and older control messages where the peer lacks a newer one's flag
 * (downgrade.ts).
 *
 * It knows nothing of processes: each control message goes to the `ConnectionHandler`
 * that the node implements (interfaces are declared where they are used).
 */
import type { Socket } from 'node:net';
import { ConnectionClosedError, DistProtocolError, ErrorCode, NessieError } from '../errors.js';
import { decodeTerm, type DecodeContext } from '../term/decode.js';
import { writeTerm } from '../term/encode.js';
import { Tag, VERSION_MAGIC } from '../term/tags.js';
import { Tuple, type Atom, type Term } from '../term/types.js';
import { Writer } from '../term/writer.js';
import { OutgoingAtomCache } from './atom-cache-out.js';
import type { BusyWait } from './busy-wait.js';
import { AtomCache, atomCacheRefsEnd, EMPTY_DIST_HEADER, FRAGMENT_HEADER_SIZE, readFragmentIds, writeFragmentHeader } from './dist-header.js';
import { downgrade, needsDowngrade } from './downgrade.js';
import { DFLAG_DIST_HDR_ATOM_CACHE, DFLAG_FRAGMENTS } from './flags.js';
import { FragmentAssembler } from './fragments.js';
import { PacketFramer, TICK } from './framing.js';
import type { Logger } from '../logger.js';

/** What the node does with what arrives on a connection. */
export interface ConnectionHandler {
  onControl(conn: DistConnection, control: Tuple, payload: Term | undefined): void;
  /**
   * How binaries in the payload of `control` are to be decoded (the receiving process
   * may ask for strings); undefined for the default, Buffers. Asked before the payload
   * is decoded.
   */
  payloadBinaries?(conn: DistConnection, control: Tuple): DecodeContext['binaries'];
  onClose(conn: DistConnection, reason: NessieError | undefined): void;
}

export interface ConnectionOptions {
  localName: string;
  peerName: string;
  /**
   * The flags agreed with the peer: its flags and ours (OTP's dist_util uses their
   * intersection). What we send follows them.
   */
  peerFlags: bigint;
  peerCreation: number;
  /** net_ticktime in ms: a tick is sent after a quarter of it without output; a peer silent for all of it is dropped. */
  ticktimeMs: number;
  /** Largest message accepted, whole or reassembled from fragments. */
  maxMessageSize: number;
  /** Keeps the event loop polling for a while after each write, when the node asks for it. */
  busyWait?: BusyWait;
  /** Bytes queued for the socket above which `send` reports busy (OTP's dist_buf_busy_limit, 1 MiB by default). */
  busyLimit: number;
  /** Messages larger than this are sent in fragments, when the peer accepts them. */
  fragmentSize: number;
  /**
   * Decode budget: most terms one incoming message (control message and payload) may
   * hold; see DecodeContext.termsLeft for what counts. Decoding costs up to ~150 bytes
   * of heap per term, so this bounds the heap one message can take. Default
   * DEFAULT_MAX_TERMS_PER_MESSAGE (2^20); over it, the connection closes with
   * DecodeError ERR_TERM_DECODE_BUDGET.
   */
  maxTermsPerMessage?: number;
  /**
   * Hard cap on the send queue, in bytes. A send that finds more than this queued (the
   * peer stopped reading, or a sender ignores `busy`) closes the connection with
   * ConnectionClosedError ERR_SEND_QUEUE_OVERFLOW. A queue under the cap always takes
   * one more message, whatever its size. Default the larger of 64 MiB and 4 * busyLimit.
   */
  maxQueuedBytes?: number;
  /**
   * Most bytes all incomplete fragmented messages of this connection may hold
   * together. Default maxMessageSize. Over it: DistProtocolError ERR_FRAGMENT_BUDGET.
   */
  maxFragmentBytes?: number;
  /**
   * A fragmented message that gets no fragment for this long (ms) closes the
   * connection with DistProtocolError ERR_FRAGMENT_TIMEOUT. Checked every quarter
   * ticktime. Default ticktimeMs.
   */
  fragmentTimeoutMs?: number;
  handler: ConnectionHandler;
  logger: Logger;
}

/** PASS_THROUGH: a message with no distribution header, each term carrying its own version byte. */
const PASS_THROUGH = 112;
const MAX_OPEN_SEQUENCES = 64;
/** Default decode budget: 2^20 terms, ~150 MB of heap at worst (a deeply nested list). */
export const DEFAULT_MAX_TERMS_PER_MESSAGE = 1 << 20;
/** Size of the batch buffer when a send finds none (see `out`). */
const BATCH_SIZE = 16 * 1024;
const NO_BATCH = Buffer.alloc(0);
/**
 * A batch at least this big is lent to the socket as it is (and the batch gets a new
 * buffer) rather than copied: copying 64 KiB costs more than allocating a buffer.
 */
const LEND_AT = 64 * 1024;
/** A batch buffer grown past this is dropped after a flush rather than kept for the life of the connection. */
const MAX_KEPT_BATCH = 4 * 1024 * 1024;
/**
 * The batch buffer for a next batch like one of `bytes`: the power of two that holds
 * it (what growing one would reach), within BATCH_SIZE and MAX_KEPT_BATCH. Sized by
 * what the last batch used, not by its buffer: one burst of small messages must not
 * make every later batch a big buffer.
 */
function batchSizeFor(bytes: number): number {
  let size = BATCH_SIZE;
  while (size < bytes && size < MAX_KEPT_BATCH) size *= 2;
  return size;
}

/**
 * The head of a fragment: its packet's length prefix and its fragment header. (A start
 * fragment's atom cache part is the first bytes of its body: see `send`.)
 */
const FRAGMENT_HEAD_SIZE = 4 + FRAGMENT_HEADER_SIZE;

/** Default floor of the send queue cap. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** Traffic counters of one connection since it came up (after the handshake). */
export interface ConnectionStats {
  /** Bytes read from the socket, ticks and framing included. */
  bytesIn: number;
  /** Bytes handed to the socket, ticks and framing included. */
  bytesOut: number;
  /** Messages received whole (a fragmented one counts once; ticks do not count). */
  messagesIn: number;
  /** Messages queued by `send`. */
  messagesOut: number;
  /** Sends that found the connection over its busy limit (BEAM's busy_dist_port). */
  busyEvents: number;
}

export class DistConnection {
  readonly stats: ConnectionStats = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, busyEvents: 0 };
  readonly peerName: string;
  readonly peerFlags: bigint;
  readonly peerCreation: number;
  private readonly framer: PacketFramer;
  private readonly atomCache = new AtomCache();
  /** The atom cache on send, when the peer takes one (DFLAG_DIST_HDR_ATOM_CACHE). */
  private readonly sendCache: OutgoingAtomCache | undefined;
  private readonly fragments: FragmentAssembler;
  /**
   * The batch: messages encoded since the last flush. Its buffer is allocated by the
   * first send that needs it, not per connection up front, and dropped when the
   * connection has been idle for a tick interval, so an idle connection holds none.
   */
  private readonly out = new Writer(0);
  /** Size of the next batch buffer: after a big batch was lent to the socket, one that holds as much (no regrowing per message). */
  private nextBatchSize = BATCH_SIZE;
  private flushScheduled = false;
  /**
   * Messages in the batch to be sent in fragments: (start, body start, body end, end)
   * offsets, four per message; between the end of the body and the end are the heads
   * of its fragments (writeFragmentHeaders). They wait for the flush like the others: a stream of big
   * messages then goes out in a few large writes (one per busy limit's worth), not a
   * write per message (calls.bench.ts, 64 KiB messages TS -> BEAM: a median 1.4x the
   * rate of a write per message, and steadier: most of the time goes to the writes).
   */
  private readonly fragmented: number[] = [];
  private wroteSinceTick = false;
  private lastReceived = Date.now();
  private readonly ticker: NodeJS.Timeout;
  /**
   * The sequence id of the next message sent in fragments: a number, unique on this
   * connection (2^53 of them before it would repeat), written as 64 bits on the wire.
   */
  private nextSequenceId = 1;
  private closedWith: NessieError | undefined | null = null;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly maxTermsPerMessage: number;
  private readonly maxQueuedBytes: number;
  // The peer's flags, read once: the send path tests booleans, not bigints.
  private readonly passThrough: boolean;
  private readonly canFragment: boolean;
  private readonly mustDowngrade: boolean;

  constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.peerName = options.peerName;
    this.peerFlags = options.peerFlags;
    this.peerCreation = options.peerCreation;
    this.maxTermsPerMessage = options.maxTermsPerMessage ?? DEFAULT_MAX_TERMS_PER_MESSAGE;
    this.maxQueuedBytes = options.maxQueuedBytes ?? Math.max(DEFAULT_MAX_QUEUED_BYTES, 4 * options.busyLimit);
    // BEAM wants the distribution header when either flag is agreed, and the pass-through
    // form only when neither is (erts_prepare_dist_ext in external.c, OTP 22+).
    this.passThrough = (options.peerFlags & (DFLAG_DIST_HDR_ATOM_CACHE | DFLAG_FRAGMENTS)) === 0n;
    this.canFragment = (options.peerFlags & DFLAG_FRAGMENTS) !== 0n;
    this.sendCache = (options.peerFlags & DFLAG_DIST_HDR_ATOM_CACHE) === 0n ? undefined : new OutgoingAtomCache();
    this.mustDowngrade = needsDowngrade(options.peerFlags);
    this.fragments = new FragmentAssembler(
      {
        maxMessageSize: options.maxMessageSize,
        maxOpenSequences: MAX_OPEN_SEQUENCES,
        maxPendingBytes: options.maxFragmentBytes ?? options.maxMessageSize,
        timeoutMs: options.fragmentTimeoutMs ?? options.ticktimeMs,
      },
      options.peerName,
    );
    this.framer = new PacketFramer({
      maxFrameSize: options.maxMessageSize + 64,
      onFrame: (frame) => this.onFrame(frame),
      onSplitFrame: (parts, length) => this.onSplitFrame(parts, length),
      onTick: () => undefined,
    });
    socket.setNoDelay(true);
    // The handshake paused the socket; from here on its bytes are ours.
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(new ConnectionClosedError(`socket error: ${err.message}`, this.peerName, { cause: err })));
    socket.on('close', () => this.close(new ConnectionClosedError('connection closed by peer', this.peerName)));
    socket.on('drain', () => this.onDrain());
    socket.resume();
    const quarter = Math.max(1, Math.floor(options.ticktimeMs / 4));
    this.ticker = setInterval(() => this.onTickTimer(), quarter);
    this.ticker.unref();
  }

  /** Feeds bytes that arrived with the end of the handshake. */
  start(leftover: Buffer): void {
    if (leftover.length > 0) this.onData(leftover);
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Bytes waiting to be written: our batch plus what the socket holds. */
  get queuedBytes(): number {
    return this.out.pos + this.socket.writableLength;
  }

  /** `true` when the queue is over the busy limit; `send` still queues, but callers should wait for `drain()`. */
  get busy(): boolean {
    return this.queuedBytes >= this.options.busyLimit;
  }

  /**
   * Queues a control message and its payload. Writes are batched until the end of
   * this turn of the event loop, messages sent in fragments too (they are cut into
   * fragments as the batch is written). Returns `false` when the connection is now over its
   * busy limit (the message is queued anyway: nothing is dropped), when it is
   * closed, or when the peer has no form of this message (ALIAS_SEND to a peer
   * without DFLAG_ALIAS; logged at debug).
   *
   * All or nothing: when the message cannot be encoded, nothing of it is queued and
   * the EncodeError (with the path of the offending value: `payload.items[3].b`) is
   * thrown; the connection goes on as if the call had not been made.
   */
  send(control: Tuple, payload?: Term): boolean {
    if (this.closedWith !== null) return false;
    if (this.mustDowngrade) {
      const out = downgrade(control, payload, this.peerFlags);
      if (out === undefined) {
        this.options.logger.debug(`not sent to ${this.peerName}: control message ${String(control[0])} has no form it accepts`);
        return false;
      }
      control = out.control;
      payload = out.payload;
    }
    if (this.queuedBytes > this.maxQueuedBytes) {
      this.overflow();
      return false;
    }
    const w = this.out;
    if (w.buf.length === 0) w.buf = Buffer.allocUnsafe(this.nextBatchSize);
    const start = w.pos;
    // Where the body of a message to be fragmented starts in the batch buffer, and where it ends.
    let fragmentsFrom = -1;
    let bodyEnd = 0;
    let usedCache = false;
    try {
      const lenAt = w.skip(4);
      if (this.passThrough) {
        w.uint8(PASS_THROUGH);
        w.uint8(VERSION_MAGIC);
        writeTerm(w, control, 'control');
        if (payload !== undefined) {
          w.uint8(VERSION_MAGIC);
          writeTerm(w, payload, 'payload');
        }
      } else {
        if (this.sendCache === undefined) {
          w.bytes(EMPTY_DIST_HEADER);
          writeTerm(w, control, 'control');
        } else {
          usedCache = true;
          this.sendCache.writeHeaderAndControl(w, control);
        }
        if (payload !== undefined) writeTerm(w, payload, 'payload');
      }
      const size = w.pos - lenAt - 4;
      if (size > this.options.fragmentSize && this.canFragment) {
        // The fragments carry all but the header's first two bytes (131, 68): the start
        // fragment's own header (131, 69, ids) is followed by the same cache references.
        fragmentsFrom = lenAt + 4 + 2;
        bodyEnd = w.pos;
        this.writeFragmentHeaders(w, bodyEnd - fragmentsFrom);
      } else {
        w.patchUint32(lenAt, size);
      }
    } catch (err) {
      // The peer never sees this message, nor so the cache entries it would have made.
      if (usedCache) this.sendCache!.rollback();
      // The batch holds other messages before this one: leave them whole.
      w.pos = start;
      // A huge value that failed late may have grown the batch buffer; don't pin it.
      if (start === 0 && w.buf.length > MAX_KEPT_BATCH) w.buf = NO_BATCH;
      throw err;
    }
    this.stats.messagesOut++;
    if (fragmentsFrom >= 0) this.fragmented.push(start, fragmentsFrom, bodyEnd, w.pos);
    this.scheduleFlush();
    if (!this.busy) return true;
    this.stats.busyEvents++;
    return false;
  }

  /** Resolves once the queue is below the busy limit (at once if it is), or the connection closed. */
  drain(): Promise<void> {
    if (!this.busy || this.closedWith !== null) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Closes the connection; `reason` undefined means a deliberate, clean close. Idempotent. */
  close(reason?: NessieError): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    clearInterval(this.ticker);
    this.flush();
    this.socket.end();
    this.socket.destroySoon?.();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.options.handler.onClose(this, reason);
  }

  /**
   * Writes into the batch, after the body of a message of `bodyLength` bytes to be sent
   * in fragments, the head of each fragment: its packet's length prefix and its
   * fragment header (the body starts with the start fragment's atom cache part). The
   * control message and a first part of the payload go in the start fragment, the rest follows in
   * continuation fragments, their ids counting down to 1 (see writeFragments). No
   * BigInt: the ids are numbers, split into two 32-bit halves.
   */
  private writeFragmentHeaders(w: Writer, bodyLength: number): void {
    const size = this.options.fragmentSize;
    const count = Math.ceil(bodyLength / size);
    const sequenceId = this.nextSequenceId++;
    w.ensure(count * FRAGMENT_HEAD_SIZE);
    for (let i = 0; i < count; i++) {
      w.uint32(FRAGMENT_HEADER_SIZE + Math.min(size, bodyLength - i * size));
      writeFragmentHeader(w, i === 0, sequenceId, count - i);
    }
  }

  /**
   * Writes the body of one message, `buf` from `bodyFrom` to `bodyEnd`, in fragments:
   * each goes to the (corked) socket as its head, which writeFragmentHeaders wrote
   * after the body, and a view of its part of the body.
   */
  private writeFragments(buf: Buffer, bodyFrom: number, bodyEnd: number): void {
    const size = this.options.fragmentSize;
    for (let at = bodyFrom, head = bodyEnd; at < bodyEnd; at += size) {
      const headEnd = head + FRAGMENT_HEAD_SIZE;
      const end = Math.min(at + size, bodyEnd);
      this.socket.write(buf.subarray(head, headEnd));
      this.socket.write(buf.subarray(at, end));
      this.stats.bytesOut += headEnd - head + end - at;
      head = headEnd;
    }
  }

  /**
   * Keeps `buf`, just lent to the socket, as the batch buffer when the socket has
   * already written everything it was handed: the kernel has its own copy, and nothing
   * holds the buffer any more (Node frees a write's chunks before it takes the write
   * off writableLength). A stream of big messages then reuses one buffer, where a new
   * one per message cost an allocation, page faults and the GC of its external memory.
   */
  private takeBackIfWritten(buf: Buffer): void {
    if (this.socket.writableLength === 0 && this.out.buf.length === 0 && buf.length <= MAX_KEPT_BATCH) this.out.buf = buf;
  }

  // The batch is written from setImmediate, at the end of the event-loop turn, not at
  // once nor from a microtask: a call's demonitor, the next call's monitor and its
  // request then go out in one write, and the write comes just before the loop sleeps.
  // Flushing from a microtask or process.nextTick measured 2-3x slower for calls BEAM
  // makes to a TS process, and no faster for calls to BEAM (2-core machine, OTP 25).
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const w = this.out;
    const fragmented = this.fragmented;
    if (w.pos === 0 || this.socket.destroyed) {
      fragmented.length = 0;
      return;
    }
    if (fragmented.length === 0 && w.pos < LEND_AT) {
      this.stats.bytesOut += w.pos;
      this.socket.write(w.copyFrom(0));
      if (w.buf.length > MAX_KEPT_BATCH) w.buf = NO_BATCH;
      w.reset();
    } else {
      // Lent, not copied: the socket keeps this buffer until it is written.
      const buf = w.buf;
      const end = w.pos;
      this.nextBatchSize = batchSizeFor(end);
      w.buf = NO_BATCH;
      w.reset();
      this.socket.cork();
      let from = 0;
      for (let i = 0; i < fragmented.length; i += 4) {
        const start = fragmented[i];
        if (start > from) this.socket.write(buf.subarray(from, start));
        this.stats.bytesOut += start - from;
        this.writeFragments(buf, fragmented[i + 1], fragmented[i + 2]);
        from = fragmented[i + 3];
      }
      fragmented.length = 0;
      if (end > from) this.socket.write(buf.subarray(from, end));
      this.stats.bytesOut += end - from;
      this.socket.uncork();
      this.takeBackIfWritten(buf);
    }
    this.wroteSinceTick = true;
    this.options.busyWait?.afterWrite();
    // The socket may have taken it all without ever emitting 'drain'.
    this.onDrain();
  }

  private onDrain(): void {
    if (this.busy) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  // The peer is not reading (or a sender ignores `busy`): stop holding memory for it.
  private overflow(): void {
    const reason = new ConnectionClosedError(
      `send queue over its cap: ${this.queuedBytes} bytes queued, maxQueuedBytes ${this.maxQueuedBytes} (the peer is not reading)`,
      this.peerName,
      { code: ErrorCode.SEND_QUEUE_OVERFLOW },
    );
    this.options.logger.warn(`dropping connection to ${this.peerName}: ${reason.code} ${reason.message}`);
    this.out.reset();
    this.fragmented.length = 0;
    this.close(reason);
    // Nothing more will be read by the peer; do not wait a second to free what it holds.
    this.socket.destroy();
  }

  private onTickTimer(): void {
    const now = Date.now();
    if (now - this.lastReceived > this.options.ticktimeMs) {
      this.close(new ConnectionClosedError('net_tick_timeout: peer silent for a whole ticktime', this.peerName, { code: ErrorCode.NET_TICK_TIMEOUT }));
      return;
    }
    try {
      this.fragments.expire(now);
    } catch (err) {
      this.drop(err);
      return;
    }
    if (!this.wroteSinceTick && this.out.pos === 0) {
      this.stats.bytesOut += TICK.length;
      this.socket.write(TICK);
      // Idle for a tick interval: give the batch buffer back, so an idle connection holds none.
      this.out.buf = NO_BATCH;
      this.nextBatchSize = BATCH_SIZE;
    }
    this.wroteSinceTick = false;
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith !== null) return;
    this.stats.bytesIn += chunk.length;
    this.lastReceived = Date.now();
    try {
      this.framer.push(chunk);
    } catch (err) {
      this.drop(err);
    }
  }

  /** Closes the connection for something the peer did, and logs why. */
  private drop(err: unknown): void {
    const reason = err instanceof NessieError ? err : new DistProtocolError(`bad message: ${(err as Error).message}`, this.peerName, { cause: err });
    this.options.logger.warn(`dropping connection to ${this.peerName}: ${reason.code} ${reason.message}`);
    this.close(reason);
  }

  private onFrame(frame: Buffer): void {
    if (this.closedWith !== null) return;
    if (frame[0] === PASS_THROUGH) {
      this.deliver(frame, 1, [], true);
      return;
    }
    if (frame.length < 2 || frame[0] !== VERSION_MAGIC) throw this.protocolError(`unexpected first byte ${frame[0]}`);
    switch (frame[1]) {
      case Tag.DIST_HEADER: {
        const { refs, offset } = this.atomCache.readRefs(frame, 2, this.peerName);
        this.deliver(frame, offset, refs, false);
        return;
      }
      case Tag.DIST_FRAG_HEADER:
      case Tag.DIST_FRAG_CONT:
        this.onFragment(frame, undefined);
        return;
      default:
        throw this.protocolError(`unknown distribution header tag ${frame[1]}`);
    }
  }

  /**
   * A packet that came in pieces of several socket chunks. A fragment goes to the
   * assembler as those pieces, when its header lies in the first one: the assembler
   * copies the message once, when it is whole, instead of the framer joining each
   * fragment first (two copies of every big message). Anything else is joined here.
   */
  private onSplitFrame(parts: Buffer[], length: number): void {
    if (this.closedWith !== null) return;
    const head = parts[0];
    if (head.length >= FRAGMENT_HEADER_SIZE && head[0] === VERSION_MAGIC) {
      if (head[1] === Tag.DIST_FRAG_CONT || (head[1] === Tag.DIST_FRAG_HEADER && atomCacheRefsEnd(head, FRAGMENT_HEADER_SIZE) !== undefined)) {
        this.onFragment(head, parts);
        return;
      }
    }
    this.onFrame(Buffer.concat(parts, length));
  }

  /**
   * A start or continuation fragment whose header is in `head`: its data is the rest of
   * `head`, then, for a packet split over socket chunks, `parts` after the first (which
   * is `head`). A message made whole is delivered.
   */
  private onFragment(head: Buffer, parts: Buffer[] | undefined): void {
    const ids = readFragmentIds(head, 2, this.peerName);
    // A start fragment's atom cache part follows its header.
    let refs: Atom[] | undefined;
    let offset = ids.offset;
    if (head[1] === Tag.DIST_FRAG_HEADER) ({ refs, offset } = this.atomCache.readRefs(head, offset, this.peerName));
    let body: Buffer | Buffer[] = head.subarray(offset);
    if (parts !== undefined) {
      parts[0] = body;
      body = parts;
    }
    const now = Date.now();
    const whole = refs === undefined
      ? this.fragments.continue(ids.sequenceId, ids.fragmentId, body, now)
      : this.fragments.start(ids.sequenceId, ids.fragmentId, refs, body, now);
    if (whole !== undefined) this.deliver(whole.bytes, 0, whole.refs, false);
  }

  /** Decodes the control message and its payload from `buf` at `offset` and hands them on. */
  private deliver(buf: Buffer, offset: number, atomCache: Atom[], versioned: boolean): void {
    // One decode budget for the control message and its payload together.
    const ctx: DecodeContext = { atomCache, termsLeft: this.maxTermsPerMessage, binaries: undefined };
    const first = decodeTerm(buf, versioned ? this.afterVersion(buf, offset) : offset, ctx);
    const control = first.term;
    if (!(control instanceof Tuple) || control.length === 0 || typeof control[0] !== 'number') {
      throw this.protocolError('control message is not a tuple with an operation code');
    }
    let payload: Term | undefined;
    let end = first.offset;
    if (end < buf.length) {
      ctx.binaries = this.options.handler.payloadBinaries?.(this, control);
      const second = decodeTerm(buf, versioned ? this.afterVersion(buf, end) : end, ctx);
      payload = second.term;
      end = second.offset;
    }
    if (end !== buf.length) throw this.protocolError(`${buf.length - end} trailing bytes after the message`);
    this.stats.messagesIn++;
    this.options.handler.onControl(this, control, payload);
  }

  /** Past the version byte that starts each term of a pass-through message. */
  private afterVersion(buf: Buffer, at: number): number {
    if (buf[at] !== VERSION_MAGIC) throw this.protocolError('pass-through term without version byte');
    return at + 1;
  }

  private protocolError(message: string): DistProtocolError {
    return new DistProtocolError(message, this.peerName);
  }
}


