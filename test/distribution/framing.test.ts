// Framers fed whole, byte by byte, and split at random points, with sentinel frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DistProtocolError } from '../../src/errors.js';
import { frame2, frame4, HandshakeReader, PacketFramer, TICK } from '../../src/distribution/framing.js';

function feed(bytes: Buffer, cuts: number[]): { frames: string[]; ticks: number } {
  const frames: string[] = [];
  let ticks = 0;
  const f = new PacketFramer({ maxFrameSize: 1 << 20, onFrame: (b) => frames.push(b.toString('hex')), onTick: () => ticks++ });
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
    f.push(bytes.subarray(at, cut));
    at = cut;
  }
  f.push(bytes.subarray(at));
  return { frames, ticks };
}

const stream = Buffer.concat([frame4(Buffer.from('first')), TICK, frame4(Buffer.alloc(300, 1)), TICK, frame4(Buffer.from([0xde, 0xad]))]);
const expected = ['first', Buffer.alloc(300, 1).toString('latin1'), '\xde\xad'].map((s) => Buffer.from(s, 'latin1').toString('hex'));

test('4-byte packets: whole, byte by byte, random splits; ticks counted', () => {
  assert.deepEqual(feed(stream, []), { frames: expected, ticks: 2 });
  assert.deepEqual(feed(stream, Array.from({ length: stream.length }, (_, i) => i)), { frames: expected, ticks: 2 });
  fc.assert(fc.property(fc.array(fc.nat(stream.length), { maxLength: 20 }), (cuts) => {
    assert.deepEqual(feed(stream, cuts), { frames: expected, ticks: 2 });
  }), { numRuns: 500 });
});

test('an oversized length is refused before anything is buffered for it', () => {
  const f = new PacketFramer({ maxFrameSize: 100, onFrame: () => assert.fail('no frame') });
  assert.throws(() => f.push(Buffer.from([0, 0, 0, 101])), DistProtocolError);
  const g = new PacketFramer({ maxFrameSize: 100, onFrame: () => undefined });
  assert.throws(() => g.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), /exceeds/);
});

test('the handshake reader stops at each message and hands back the rest untouched', () => {
  const packet = frame4(Buffer.from('after the handshake'));
  const r = new HandshakeReader(64);
  const bytes = Buffer.concat([frame2(Buffer.from('a1')), frame2(Buffer.from('b2')), packet]);
  for (let i = 0; i < bytes.length; i++) r.append(bytes.subarray(i, i + 1));
  assert.equal(r.shift()?.toString(), 'a1');
  assert.equal(r.shift()?.toString(), 'b2');
  // The first connected packet arrived with the last handshake message: it must survive.
  assert.deepEqual(r.rest(), packet);
  const big = new HandshakeReader(10);
  big.append(Buffer.from([0, 11]));
  assert.throws(() => big.shift(), DistProtocolError);
});

test('under TLS the handshake reader takes 4-byte lengths (inet_tls_dist keeps {packet, 4}) and checks them first', () => {
  const packet = frame4(Buffer.from('after the handshake'));
  const r = new HandshakeReader(64, 4);
  const bytes = Buffer.concat([frame4(Buffer.from('a1')), frame4(Buffer.from('b2')), packet]);
  for (let i = 0; i < bytes.length; i++) r.append(bytes.subarray(i, i + 1));
  assert.equal(r.shift()?.toString(), 'a1');
  assert.equal(r.shift()?.toString(), 'b2');
  assert.deepEqual(r.rest(), packet);
  const big = new HandshakeReader(10, 4);
  big.append(Buffer.from([0, 0, 0, 11]));
  assert.throws(() => big.shift(), DistProtocolError);
});

// Counts the bytes Buffer.concat copies while `run` runs (the framer's only way to join chunks).
function countConcat(run: () => void): { calls: number; bytes: number } {
  const original = Buffer.concat;
  const seen = { calls: 0, bytes: 0 };
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const out = original(list, total);
    seen.calls++;
    seen.bytes += out.length;
    return out;
  }) as typeof Buffer.concat;
  try {
    run();
  } finally {
    Buffer.concat = original;
  }
  return seen;
}

test('a big frame fed in many small chunks is joined once: linear copying, not quadratic', () => {
  const big = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = i / 4096; // a pattern, so a bad join shows
  const bytes = Buffer.concat([frame4(Buffer.from('before')), TICK, frame4(big), frame4(Buffer.from('after'))]);
  const frames: Buffer[] = [];
  const f = new PacketFramer({ maxFrameSize: 4 * 1024 * 1024, onFrame: (b) => frames.push(Buffer.from(b)) });
  const chunk = 2048 + 3; // odd size: prefixes and frames straddle chunk boundaries
  const copied = countConcat(() => {
    for (let at = 0; at < bytes.length; at += chunk) f.push(bytes.subarray(at, at + chunk));
  });
  assert.deepEqual(frames.map((b) => b.length), [6, big.length, 5]);
  assert.ok(frames[1].equals(big));
  assert.equal(frames[2].toString(), 'after');
  assert.equal(f.buffered, 0);
  // One join of the big frame (and perhaps of the small ones that straddled a boundary).
  assert.ok(copied.bytes <= big.length + 64, `copied ${copied.bytes} bytes for a ${big.length}-byte frame`);
  assert.ok(copied.calls <= 3, `${copied.calls} concat calls`);
});

test('frames inside one chunk are views of it, not copies', () => {
  const bytes = Buffer.concat([frame4(Buffer.from('one')), frame4(Buffer.from('two'))]);
  const frames: Buffer[] = [];
  const f = new PacketFramer({ maxFrameSize: 100, onFrame: (b) => frames.push(b) });
  f.push(bytes);
  assert.equal(frames.length, 2);
  for (const fr of frames) assert.equal(fr.buffer, bytes.buffer);
});

test('with onSplitFrame, a frame spread over chunks is handed on as views of them, not joined', () => {
  const big = Buffer.alloc(10_000, 5);
  const bytes = Buffer.concat([frame4(Buffer.from('one')), frame4(big), frame4(Buffer.from('two'))]);
  const chunks = [bytes.subarray(0, 4000), bytes.subarray(4000, 8000), bytes.subarray(8000)].map((c) => Buffer.from(c));
  const whole: string[] = [];
  const split: Buffer[][] = [];
  const f = new PacketFramer({ maxFrameSize: 1 << 20, onFrame: (b) => whole.push(b.toString()), onSplitFrame: (parts, length) => {
    assert.equal(length, big.length);
    split.push(parts);
  } });
  for (const c of chunks) f.push(c);
  assert.deepEqual(whole, ['one', 'two']);
  assert.equal(split.length, 1);
  assert.deepEqual(split[0].map((p) => p.buffer), chunks.map((c) => c.buffer), 'each part a view of its chunk');
  assert.ok(Buffer.concat(split[0]).equals(big));
});
