// DistConnection over a real loopback socket pair, the other end a raw socket that
// plays the peer byte by byte: sends are all-or-nothing, the peer's flags shape what
// goes out (pass-through form, downgraded control messages), and each limit (decode
// budget, send queue cap, fragment budget and timeout) closes the connection with its
// own error code. No test waits on a clock: each waits for an event, under a timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { EncodeError, type NessieError } from '../../src/errors.js';
import { DistConnection, type ConnectionOptions } from '../../src/distribution/connection.js';
import { aliasSend, DOP, payloadExit, regSend, sendSender, unlinkId } from '../../src/distribution/control.js';
import { AtomCache, EMPTY_DIST_HEADER, fragmentHeader } from '../../src/distribution/dist-header.js';
import {
  DFLAG_DIST_HDR_ATOM_CACHE, DFLAG_FRAGMENTS, DFLAGS_MANDATORY_OTP26, LOCAL_DIST_FLAGS,
} from '../../src/distribution/flags.js';
import { FragmentAssembler } from '../../src/distribution/fragments.js';
import { frame4, PacketFramer, TICK } from '../../src/distribution/framing.js';
import { decodeTerm } from '../../src/term/decode.js';
import { encode } from '../../src/term/encode.js';
import { Tag, VERSION_MAGIC } from '../../src/term/tags.js';
import { atom, Pid, Reference, tuple, type Atom, type Term, type Tuple } from '../../src/term/types.js';
import type { Logger } from '../../src/logger.js';
import { spyOnConcat } from '../support/concat-spy.js';

const US = atom('us@127.0.0.1');
const PEER = atom('peer@127.0.0.1');
const from = new Pid(US, 1, 0, 1);
const to = new Pid(PEER, 2, 0, 1);

interface Harness {
  conn: DistConnection;
  /** The raw peer end. */
  peer: Socket;
  controls: Array<{ control: Tuple; payload: Term | undefined }>;
  closed: Promise<NessieError | undefined>;
  warnings: string[];
  /** Frames the peer has read so far (ticks left out). */
  frames: Buffer[];
  stop(): Promise<void>;
}

async function harness(o: Partial<ConnectionOptions> = {}, peerReads = true): Promise<Harness> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection');
  const peer = connect(port, '127.0.0.1');
  await once(peer, 'connect');
  const [socket] = (await accepted) as [Socket];
  const controls: Harness['controls'] = [];
  const warnings: string[] = [];
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
  let onClosed: (r: NessieError | undefined) => void = () => undefined;
  const closed = new Promise<NessieError | undefined>((resolve) => (onClosed = resolve));
  const conn = new DistConnection(socket, {
    localName: US.name,
    peerName: PEER.name,
    peerFlags: LOCAL_DIST_FLAGS,
    peerCreation: 1,
    ticktimeMs: 60_000,
    maxMessageSize: 1 << 20,
    busyLimit: 64 * 1024,
    fragmentSize: 64 * 1024,
    handler: { onControl: (_c, control, payload) => controls.push({ control, payload }), onClose: (_c, reason) => onClosed(reason) },
    logger,
    ...o,
  });
  conn.start(Buffer.alloc(0));
  const frames: Buffer[] = [];
  const framer = new PacketFramer({ maxFrameSize: 1 << 30, onFrame: (f) => frames.push(Buffer.from(f)) });
  if (peerReads) peer.on('data', (chunk: Buffer) => framer.push(chunk));
  else peer.pause();
  peer.on('error', () => undefined);
  return {
    conn, peer, controls, closed, warnings, frames,
    stop: async () => {
      conn.close();
      peer.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Resolves once `check` holds, polling on the event loop; fails after `ms`. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The payloads of the first `count` messages in the frames the peer received, those sent
 * in fragments reassembled, in the order they arrived.
 */
async function receivedPayloads(h: Harness, count: number): Promise<Term[]> {
  const assembler = new FragmentAssembler({ maxMessageSize: 1 << 22, maxOpenSequences: 4, maxPendingBytes: 1 << 22, timeoutMs: 60_000 }, 'us');
  const received: Term[] = [];
  await until(() => {
    for (const f of h.frames.splice(0)) {
      if (f[1] === 68) {
        received.push(readFrame(f, peerCacheOf(h)).payload!);
        continue;
      }
      const seq = f.readBigUInt64BE(2);
      const frag = f.readBigUInt64BE(10);
      let whole;
      if (f[1] === 69) {
        const { refs, offset } = peerCacheOf(h).readRefs(f, 18, 'us');
        whole = assembler.start(seq, frag, refs, f.subarray(offset), 0);
      } else {
        whole = assembler.continue(seq, frag, f.subarray(18), 0);
      }
      if (whole !== undefined) received.push(readTerms(whole.bytes, 0, whole.refs).payload!);
    }
    return received.length >= count;
  }, 'every message');
  return received;
}

/** The reason the connection closed with; fails (instead of hanging) if it stays open for `ms`. */
async function closedWithin(h: Harness, ms = 10_000): Promise<NessieError | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms)));
  try {
    return await Promise.race([h.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A message as a BEAM peer frames it: distribution header with no atom cache refs, then the terms. */
function message(control: Tuple, payload?: Term): Buffer {
  const parts = [EMPTY_DIST_HEADER, encode(control).subarray(1)];
  if (payload !== undefined) parts.push(encode(payload).subarray(1));
  return frame4(Buffer.concat(parts));
}

/**
 * The peer's side of our atom cache on send: one receive cache per connection, as a
 * BEAM peer keeps. Frames must be read in the order they were sent.
 */
const peerCaches = new WeakMap<Harness, AtomCache>();
const peerCacheOf = (h: Harness) => peerCaches.get(h) ?? peerCaches.set(h, new AtomCache()).get(h)!;

/** Decodes a frame we sent in the distribution header form, its atom cache references read into `cache`. */
function readFrame(f: Buffer, cache = new AtomCache()): { control: Term; payload: Term | undefined } {
  assert.deepEqual([...f.subarray(0, 2)], [VERSION_MAGIC, Tag.DIST_HEADER]);
  const { refs, offset } = cache.readRefs(f, 2, 'us');
  return readTerms(f, offset, refs);
}

function readTerms(f: Buffer, offset: number, atomCache: Atom[]): { control: Term; payload: Term | undefined } {
  const first = decodeTerm(f, offset, { atomCache });
  if (first.offset === f.length) return { control: first.term, payload: undefined };
  const second = decodeTerm(f, first.offset, { atomCache });
  assert.equal(second.offset, f.length);
  return { control: first.term, payload: second.term };
}

test('a send that cannot be encoded queues nothing: the messages around it arrive whole', async () => {
  const h = await harness();
  try {
    assert.equal(h.conn.send(regSend(from, atom('a')), 'before'), true);
    assert.throws(
      () => h.conn.send(regSend(from, atom('a')), { items: [1, 2, 3, { a: 1, b: undefined }] } as unknown as Term),
      (e: unknown) => e instanceof EncodeError && e.path === 'payload.items[3].b' && /^payload\.items\[3\]\.b: undefined has no Erlang/.test(e.message),
    );
    assert.throws(() => h.conn.send(tuple(DOP.SEND, atom(''), Symbol('x') as unknown as Term), 1), (e: unknown) => e instanceof EncodeError && e.path === 'control[2]');
    assert.equal(h.conn.send(regSend(from, atom('a')), 'after'), true);
    await until(() => h.frames.length >= 2, 'two frames');
    assert.deepEqual(h.frames.map((f) => readFrame(f, peerCacheOf(h)).payload?.toString()), ['before', 'after']);
    assert.equal(h.conn.closed, false);
  } finally {
    await h.stop();
  }
});

test('a peer with neither DFLAG_DIST_HDR_ATOM_CACHE nor DFLAG_FRAGMENTS gets the pass-through form (112), never fragments', async () => {
  const flags = DFLAGS_MANDATORY_OTP26;
  const h = await harness({ peerFlags: flags, fragmentSize: 100 });
  try {
    h.conn.send(tuple(DOP.SEND, atom(''), to), atom('hi'));
    h.conn.send(tuple(DOP.SEND, atom(''), to), Buffer.alloc(300, 7));
    await until(() => h.frames.length >= 2, 'two frames');
    assert.deepEqual([...h.frames[0]], [
      112,                                   // PASS_THROUGH
      131,                                   // version byte of the control message
      104, 3,                                // SMALL_TUPLE_EXT, arity 3
      97, 2,                                 // SEND
      119, 0,                                // '' (Unused)
      88, 119, 14, ...Buffer.from('peer@127.0.0.1'), 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, // NEW_PID_EXT
      131,                                   // version byte of the payload
      119, 2, 0x68, 0x69,                    // 'hi'
    ]);
    // 300 bytes over a fragmentSize of 100: one frame, no fragments.
    assert.equal(h.frames[1][0], 112);
    assert.equal(h.frames[1].length, 1 + 1 + 35 + 1 + 5 + 300); // 112, 131, {SEND, '', Pid}, 131, BINARY_EXT
  } finally {
    await h.stop();
  }
});

test('a peer with DFLAG_FRAGMENTS but not DFLAG_DIST_HDR_ATOM_CACHE gets the header and fragments, as BEAM requires', async () => {
  const h = await harness({ peerFlags: DFLAGS_MANDATORY_OTP26 | DFLAG_FRAGMENTS, fragmentSize: 100 });
  try {
    h.conn.send(tuple(DOP.SEND, atom(''), to), atom('hi'));
    h.conn.send(tuple(DOP.SEND, atom(''), to), Buffer.alloc(300, 7));
    await until(() => h.frames.length >= 5, 'five frames');
    assert.deepEqual(readFrame(h.frames[0], peerCacheOf(h)), { control: tuple(DOP.SEND, atom(''), to), payload: atom('hi') });
    // Without the flag, no atom cache references: the header is 131, 68, 0.
    assert.deepEqual([...h.frames[0].subarray(0, 3)], [...EMPTY_DIST_HEADER]);
    assert.deepEqual(h.frames.slice(1).map((f) => [f[0], f[1]]), [[131, 69], [131, 70], [131, 70], [131, 70]]);
  } finally {
    await h.stop();
  }
});

test('big messages go out in fragments whole and in order with the messages around them, each from its own buffer', async () => {
  // The peer reads only once everything is queued, so the socket holds what it was
  // handed (a buffer reused too early would show in the bytes that arrive).
  const h = await harness({ fragmentSize: 64 * 1024, maxMessageSize: 1 << 22 }, false);
  const big = (fill: number) => Buffer.alloc((1 << 21) + fill, fill);
  const small = (i: number) => Buffer.alloc(1024, i);
  try {
    // In one turn: small ones, big ones back to back (each encoded right after the one
    // before was handed to the socket), more small ones than a batch copies.
    const sent: Buffer[] = [small(1), big(2), big(3), big(4), ...Array.from({ length: 100 }, (_, i) => small(10 + i)), big(5), small(6)];
    for (const b of sent) h.conn.send(tuple(DOP.SEND, atom(''), to), b);
    const framer = new PacketFramer({ maxFrameSize: 1 << 30, onFrame: (f) => h.frames.push(Buffer.from(f)) });
    h.peer.on('data', (chunk: Buffer) => framer.push(chunk));
    h.peer.resume();
    const received = await receivedPayloads(h, sent.length);
    assert.equal(received.length, sent.length);
    received.forEach((r, i) => assert.ok(Buffer.isBuffer(r) && r.equals(sent[i]), `message ${i} arrived whole and in order`));
  } finally {
    await h.stop();
  }
});

test('a big message the socket took whole leaves its buffer to the next send; what arrives is what was sent, whatever the caller does to its Buffer after', async () => {
  const h = await harness({ fragmentSize: 16 * 1024, maxMessageSize: 1 << 22 });
  const batchBuffer = () => (h.conn as unknown as { out: { buf: Buffer } }).out.buf;
  try {
    const sent: Buffer[] = [];
    const kept: Buffer[] = [];
    // One message per turn of the event loop, so the socket writes each batch before the
    // next; sizes from 40 KiB to 2 MiB, so that some fill the socket and stay lent.
    for (let i = 0; i < 40; i++) {
      const payload = Buffer.alloc(40 * 1024 * (1 + (i % 4) * (i % 7)), i + 1);
      sent.push(Buffer.from(payload));
      h.conn.send(tuple(DOP.SEND, atom(''), to), payload);
      // BEAM copies a message at send: changing the Buffer now must not change what arrives.
      payload.fill(0xee);
      // After the batch was written at the end of this turn.
      await new Promise((r) => setImmediate(r));
      if (h.conn.queuedBytes === 0) kept.push(batchBuffer());
    }
    const received = await receivedPayloads(h, sent.length);
    assert.equal(received.length, sent.length);
    received.forEach((r, i) => assert.ok(Buffer.isBuffer(r) && r.equals(sent[i]), `message ${i} arrived whole and in order`));
    // The socket took batches whole (nothing queued after the flush) and their buffer
    // was kept for the next one, rather than a new buffer allocated per message.
    assert.ok(kept.length > 0, 'some sends left nothing queued');
    assert.ok(kept.every((b) => b.length > 0), 'a buffer the socket let go of is kept as the batch buffer');
  } finally {
    await h.stop();
  }
});

test('big messages sent in one turn go to the socket together with the batch at the end of the turn, in order', async () => {
  const h = await harness({ fragmentSize: 16 * 1024, maxMessageSize: 1 << 22, busyLimit: 1 << 22 });
  try {
    const sent = [Buffer.alloc(100, 1), Buffer.alloc(50_000, 2), Buffer.alloc(200, 3), Buffer.alloc(70_000, 4), Buffer.alloc(60_000, 5), Buffer.alloc(10, 6)];
    for (const b of sent) h.conn.send(tuple(DOP.SEND, atom(''), to), b);
    // Nothing written yet: the big ones wait in the batch with the small ones.
    assert.equal(h.conn.stats.bytesOut, 0);
    assert.ok(h.conn.queuedBytes > 180_000);
    await new Promise((r) => setImmediate(r));
    assert.ok(h.conn.stats.bytesOut > 180_000, 'all written at the end of the turn');
    const received = await receivedPayloads(h, sent.length);
    received.forEach((r, i) => assert.ok(Buffer.isBuffer(r) && r.equals(sent[i]), `message ${i} arrived whole and in order`));
  } finally {
    await h.stop();
  }
});

test('control messages the peer did not advertise go in their older forms, or not at all', async () => {
  // The OTP 26 mandatory set and the header, but no SEND_SENDER, EXIT_PAYLOAD, ALIAS (UNLINK_ID is mandatory there).
  const h = await harness({ peerFlags: DFLAGS_MANDATORY_OTP26 | DFLAG_DIST_HDR_ATOM_CACHE });
  try {
    h.conn.send(sendSender(from, to), 'msg');
    h.conn.send(payloadExit(from, to), atom('oops'));
    assert.equal(h.conn.send(aliasSend(from, new Reference(PEER, 1, [1, 2, 3])), 'lost'), false, 'ALIAS_SEND has no older form');
    h.conn.send(unlinkId(5, from, to));
    await until(() => h.frames.length >= 3, 'three frames');
    assert.deepEqual(h.frames.map((f) => readFrame(f, peerCacheOf(h))), [
      { control: tuple(DOP.SEND, atom(''), to), payload: Buffer.from('msg') },
      { control: tuple(DOP.EXIT, from, to, atom('oops')), payload: undefined },
      { control: unlinkId(5, from, to), payload: undefined },
    ]);
  } finally {
    await h.stop();
  }
});

test('a peer that never reads is dropped once the send queue passes maxQueuedBytes; one that reads is not', async () => {
  const maxQueuedBytes = 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 1);
  const stalled = await harness({ maxQueuedBytes, fragmentSize: 1 << 20 }, false);
  let sent = 0;
  try {
    // A sender that ignores `busy`, one message per turn of the event loop, bounded.
    while (!stalled.conn.closed && sent < 5000) {
      stalled.conn.send(regSend(from, atom('sink')), chunk);
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    const reason = await closedWithin(stalled);
    assert.equal(reason?.code, 'ERR_SEND_QUEUE_OVERFLOW');
    assert.match(stalled.warnings.join('\n'), /send queue over its cap/);
    assert.ok(sent < 5000);
  } finally {
    await stalled.stop();
  }
  // The same traffic to a peer that reads, from a sender that waits for drain(), never comes near the cap.
  const reading = await harness({ maxQueuedBytes, fragmentSize: 1 << 20 });
  try {
    for (let i = 0; i < sent; i++) {
      if (!reading.conn.send(regSend(from, atom('sink')), chunk)) await reading.conn.drain();
      assert.equal(reading.conn.closed, false);
    }
    await until(() => reading.frames.length === sent, `${sent} frames`, 20_000);
  } finally {
    await reading.stop();
  }
});

test('a message over the decode budget drops the connection, after the messages before it', async () => {
  const h = await harness({ maxTermsPerMessage: 1000 });
  try {
    const ctl = tuple(DOP.SEND, atom(''), from);
    h.peer.write(message(ctl, Array.from({ length: 990 }, (_, i) => i + 1000)));
    h.peer.write(message(ctl, Array.from({ length: 1000 }, (_, i) => i + 1000)));
    const reason = await closedWithin(h);
    assert.equal(reason?.code, 'ERR_TERM_DECODE_BUDGET');
    assert.equal(h.controls.length, 1);
    assert.match(h.warnings.join('\n'), /ERR_TERM_DECODE_BUDGET/);
  } finally {
    await h.stop();
  }
});

test('incomplete fragmented messages share one byte budget per connection', async () => {
  const h = await harness({ maxMessageSize: 1000, maxFragmentBytes: 1500 });
  try {
    // Two open sequences of 800 bytes each: each under maxMessageSize, together over the budget.
    for (const seq of [1n, 2n]) {
      h.peer.write(frame4(Buffer.concat([fragmentHeader(true, seq, 3n), Buffer.from([0]), Buffer.alloc(800)])));
    }
    const reason = await closedWithin(h);
    assert.equal(reason?.code, 'ERR_FRAGMENT_BUDGET');
  } finally {
    await h.stop();
  }
});

test('a fragmented message that stalls drops the connection after fragmentTimeoutMs', async () => {
  // Ticks every 100 ms on our side; the peer ticks too, so only the stalled sequence is at fault.
  const h = await harness({ ticktimeMs: 400, fragmentTimeoutMs: 300 });
  const ticker = setInterval(() => h.peer.write(TICK), 50);
  try {
    const ctl = encode(tuple(DOP.SEND, atom(''), from)).subarray(1);
    h.peer.write(frame4(Buffer.concat([fragmentHeader(true, 9n, 2n), Buffer.from([0]), ctl])));
    const reason = await closedWithin(h);
    assert.equal(reason?.code, 'ERR_FRAGMENT_TIMEOUT');
    assert.match(h.warnings.join('\n'), /fragmented message 9 got no fragment/);
  } finally {
    clearInterval(ticker);
    await h.stop();
  }
});

test('fragments spread over socket chunks are reassembled with one copy of the message, a start header with atom cache refs read in place', async () => {
  const size = 1 << 20;
  const h = await harness({ maxMessageSize: 4 * size });
  const joined = spyOnConcat();
  try {
    const cacheRefs = Buffer.from([1, 0x08, 5, 4, ...Buffer.from('sink')]); // one new entry: 'sink' at index 5
    const wire: Buffer[] = [];
    for (const seq of [1n, 2n, 3n]) {
      const body = Buffer.concat([encode(tuple(DOP.SEND, atom(''), to)).subarray(1), encode(Buffer.alloc(size, Number(seq))).subarray(1)]);
      const count = Math.ceil(body.length / (64 * 1024));
      for (let i = 0; i < count; i++) {
        const header = i === 0 ? Buffer.concat([fragmentHeader(true, seq, BigInt(count)), cacheRefs]) : fragmentHeader(false, seq, BigInt(count - i));
        wire.push(frame4(Buffer.concat([header, body.subarray(i * 64 * 1024, (i + 1) * 64 * 1024)])));
      }
    }
    const bytes = Buffer.concat(wire);
    joined.reset();
    // Odd-sized writes, so that frames and headers straddle the chunks the receiver reads.
    for (let at = 0; at < bytes.length; at += 50_001) h.peer.write(bytes.subarray(at, at + 50_001));
    await until(() => h.controls.length === 3, 'three messages');
    h.controls.forEach((c, i) => {
      const p = c.payload as Buffer;
      assert.ok(Buffer.isBuffer(p) && p.length === size && p[0] === i + 1 && p[size - 1] === i + 1, `message ${i + 1} whole`);
    });
    assert.ok(joined.bytes < 3 * (size + 64 * 1024), `joined ${joined.bytes} bytes for 3 messages of ${size}: one copy of each, not two`);
  } finally {
    joined.restore();
    await h.stop();
  }
});

/**
 * The fragments of a message whose terms are `terms`, sent as BEAM sends them: `size`
 * bytes of body each (the first starting with its atom cache part, no refs), fragment
 * ids counting down to 1.
 */
function fragments(seq: bigint, terms: Buffer, size: number): Buffer[] {
  const body = Buffer.concat([Buffer.from([0]), terms]);
  const count = Math.ceil(body.length / size);
  return Array.from({ length: count }, (_, i) => frame4(Buffer.concat([fragmentHeader(i === 0, seq, BigInt(count - i)), body.subarray(i * size, (i + 1) * size)])));
}

test('fragmented messages of several senders, interleaved fragment by fragment and cut at odd points, arrive whole', async () => {
  const h = await harness({ maxMessageSize: 1 << 22 });
  try {
    // BEAM's 64 KiB fragments: one message a little over a fragment (a short last
    // one), one of many fragments, one of a single fragment, and small messages between
    // (their binaries, decoded as views of the socket's chunks, checked once all has arrived).
    const payloads = [Buffer.alloc(64 * 1024, 1), Buffer.alloc(700_000, 2), Buffer.alloc(30_000, 3)];
    const sequences = payloads.map((p, i) => fragments(BigInt(100 + i), Buffer.concat([encode(tuple(DOP.SEND, atom(''), to)).subarray(1), encode(p).subarray(1)]), 64 * 1024));
    const wire: Buffer[] = [];
    for (let i = 0; sequences.some((q) => i < q.length); i++) {
      for (const q of sequences) if (i < q.length) wire.push(q[i]);
      wire.push(message(tuple(DOP.SEND, atom(''), to), Buffer.alloc(200, i)));
    }
    const bytes = Buffer.concat(wire);
    for (let at = 0; at < bytes.length; at += 40_009) h.peer.write(bytes.subarray(at, at + 40_009));
    const small = wire.length - sequences.reduce((n, q) => n + q.length, 0);
    await until(() => h.controls.length === payloads.length + small, 'every message');
    const received = h.controls.map((c) => c.payload as Buffer);
    const big = received.filter((p) => p.length > 200);
    // Completed in the order of their last fragments: the single-fragment one first.
    assert.deepEqual(big.map((p) => [p.length, p[0], p[p.length - 1]]), [[30_000, 3, 3], [64 * 1024, 1, 1], [700_000, 2, 2]]);
    assert.ok(big[1].equals(payloads[0]) && big[2].equals(payloads[1]));
    const smalls = received.filter((p) => p.length === 200);
    assert.equal(smalls.length, small);
    smalls.forEach((p, i) => assert.ok(p.equals(Buffer.alloc(200, i)), `small message ${i} intact`));
    assert.equal(h.conn.closed, false);
  } finally {
    await h.stop();
  }
});

/** The atoms a frame's header sends as new cache entries, and how many references it has. */
function headerOf(f: Buffer): { refs: number; fresh: string[] } {
  const n = f[2];
  const fresh: string[] = [];
  let pos = 3 + (n >> 1) + 1;
  for (let i = 0; i < n; i++) {
    const flag = (f[3 + (i >> 1)] >> ((i & 1) * 4)) & 0x0f;
    pos++;
    if (flag & 0x08) {
      fresh.push(f.toString('utf8', pos + 1, pos + 1 + f[pos]));
      pos += 1 + f[pos];
    }
  }
  return { refs: n, fresh };
}

test('atom cache on send: the first message carries each control atom, later ones only its index', async () => {
  const h = await harness();
  try {
    h.conn.send(regSend(from, atom('first')), 1);
    h.conn.send(regSend(from, atom('first')), 2);
    h.conn.send(regSend(from, atom('second')), 3);
    await until(() => h.frames.length >= 3, 'three frames');
    // {REG_SEND, From, '', ToName}: the sender's node, '' and the name.
    assert.deepEqual(headerOf(h.frames[0]), { refs: 3, fresh: [US.name, '', 'first'] });
    assert.deepEqual(headerOf(h.frames[1]), { refs: 3, fresh: [] });
    assert.deepEqual(headerOf(h.frames[2]), { refs: 3, fresh: ['second'] });
    assert.ok(h.frames[1].length < h.frames[0].length - US.name.length, 'a cached atom costs its index, not its text');
    // What a BEAM peer's cache makes of them: the same messages.
    const cache = peerCacheOf(h);
    assert.deepEqual(h.frames.map((f) => readFrame(f, cache)), [1, 2, 3].map((i, k) => ({
      control: regSend(from, atom(k < 2 ? 'first' : 'second')), payload: i,
    })));
  } finally {
    await h.stop();
  }
});

test('a peer that closes in the middle of a fragmented message and of a packet: the connection closes, nothing of that message delivered', async () => {
  const h = await harness({ maxMessageSize: 1 << 22 });
  try {
    const body = Buffer.concat([encode(tuple(DOP.SEND, atom(''), to)).subarray(1), encode(Buffer.alloc(300_000, 4)).subarray(1)]);
    const frags = fragments(7n, body, 64 * 1024);
    // One small message, two whole fragments, then half of the third.
    h.peer.write(Buffer.concat([message(tuple(DOP.SEND, atom(''), to), 42), frags[0], frags[1], frags[2].subarray(0, 30_000)]));
    await until(() => h.controls.length === 1, 'the message before');
    h.peer.end();
    const reason = await closedWithin(h);
    assert.match(reason?.message ?? '', /closed by peer/);
    assert.deepEqual(h.controls.map((c) => c.payload), [42]);
  } finally {
    await h.stop();
  }
});

test('fragment headers: a 64-bit sequence id of its own per message, fragment ids counting down to 1, as BEAM reads them', async () => {
  const h = await harness({ fragmentSize: 1000, maxMessageSize: 1 << 20 });
  try {
    // Past 2^32, so that both halves of the 64-bit id are written.
    (h.conn as unknown as { nextSequenceId: number }).nextSequenceId = 2 ** 32 + 5;
    const sent = [Buffer.alloc(2500, 1), Buffer.alloc(10, 2), Buffer.alloc(1500, 3)];
    for (const b of sent) h.conn.send(tuple(DOP.SEND, atom(''), to), b);
    await until(() => h.frames.length === 6, 'six frames');
    const heads = h.frames.map((f) => ({ tag: f[1], seq: f[1] === 68 ? 0n : f.readBigUInt64BE(2), frag: f[1] === 68 ? 0n : f.readBigUInt64BE(10) }));
    const first = 2n ** 32n + 5n;
    assert.deepEqual(heads, [
      { tag: 69, seq: first, frag: 3n }, { tag: 70, seq: first, frag: 2n }, { tag: 70, seq: first, frag: 1n },
      { tag: 68, seq: 0n, frag: 0n },
      { tag: 69, seq: first + 1n, frag: 2n }, { tag: 70, seq: first + 1n, frag: 1n },
    ]);
    // The fragment header, then the body's first 1000 bytes (its atom cache part first).
    assert.equal(h.frames[0].length, 18 + 1000);
    const received = await receivedPayloads(h, 3);
    received.forEach((r, i) => assert.ok(Buffer.isBuffer(r) && r.equals(sent[i]), `message ${i} whole`));
  } finally {
    await h.stop();
  }
});

test('atom cache on send: a send that fails to encode takes back the entries it made, so the next one sends them again', async () => {
  const h = await harness();
  try {
    h.conn.send(regSend(from, atom('known')), 'a');
    assert.throws(() => h.conn.send(regSend(from, atom('never_sent')), { bad: undefined } as unknown as Term), EncodeError);
    // An unencodable control message too (an exit reason that is a function).
    assert.throws(() => h.conn.send(tuple(DOP.EXIT2, from, new Pid(atom('other@host'), 1, 0, 1), (() => 1) as unknown as Term)), EncodeError);
    h.conn.send(regSend(from, atom('never_sent')), 'b');
    h.conn.send(tuple(DOP.EXIT2, from, new Pid(atom('other@host'), 1, 0, 1), atom('normal')));
    await until(() => h.frames.length >= 3, 'three frames');
    assert.deepEqual(headerOf(h.frames[1]).fresh, ['never_sent']);
    assert.deepEqual(headerOf(h.frames[2]).fresh, ['other@host', 'normal']);
    const cache = peerCacheOf(h);
    assert.deepEqual(h.frames.map((f) => readFrame(f, cache)), [
      { control: regSend(from, atom('known')), payload: Buffer.from('a') },
      { control: regSend(from, atom('never_sent')), payload: Buffer.from('b') },
      { control: tuple(DOP.EXIT2, from, new Pid(atom('other@host'), 1, 0, 1), atom('normal')), payload: undefined },
    ]);
  } finally {
    await h.stop();
  }
});

test('atom cache on send: past 2048 entries, and for texts over 255 bytes, atoms go in full', async () => {
  const h = await harness({ busyLimit: 1 << 30 });
  const long = atom('é'.repeat(200)); // 400 bytes of UTF-8
  try {
    const names = Array.from({ length: 2100 }, (_, i) => atom(`name_${i}`));
    // The node name and '' take two entries: 2046 names fit.
    for (const name of names) h.conn.send(regSend(from, name), 0);
    h.conn.send(regSend(from, long), 0);
    await until(() => h.frames.length >= names.length + 1, 'every frame');
    assert.deepEqual(headerOf(h.frames[2045]).fresh, ['name_2045']);
    assert.deepEqual(headerOf(h.frames[2046]), { refs: 2, fresh: [] });
    assert.deepEqual(headerOf(h.frames[names.length]), { refs: 2, fresh: [] });
    const cache = peerCacheOf(h);
    const controls = h.frames.map((f) => readFrame(f, cache).control);
    assert.deepEqual(controls, [...names, long].map((n) => regSend(from, n)));
  } finally {
    await h.stop();
  }
});

test('atom cache on send: a message sent in fragments carries its new entries in the start fragment', async () => {
  const h = await harness({ fragmentSize: 100 });
  try {
    h.conn.send(regSend(from, atom('big_one')), Buffer.alloc(1000, 3));
    h.conn.send(regSend(from, atom('big_one')), 'small');
    const received = await receivedPayloads(h, 2);
    assert.ok(Buffer.isBuffer(received[0]) && received[0].equals(Buffer.alloc(1000, 3)));
    assert.deepEqual(received[1], Buffer.from('small'));
  } finally {
    await h.stop();
  }
});
