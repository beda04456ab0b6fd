// Reassembly limits: one byte budget for all incomplete messages of a connection, and
// a timeout for sequences that stall. The clock is passed in, so no test waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistProtocolError } from '../../src/errors.js';
import { FragmentAssembler } from '../../src/distribution/fragments.js';

const limits = { maxMessageSize: 1000, maxOpenSequences: 64, maxPendingBytes: 100, timeoutMs: 5000 };
const isCode = (code: string) => (e: unknown) => e instanceof DistProtocolError && e.code === code;

test('one byte budget covers all incomplete messages together, not each', () => {
  const f = new FragmentAssembler(limits, 'p');
  // Three sequences of 40 bytes each are each far under maxMessageSize, but 120 bytes together.
  f.start(1n, 3n, [], Buffer.alloc(40), 0);
  f.start(2n, 3n, [], Buffer.alloc(40), 0);
  assert.equal(f.pendingBytes, 80);
  assert.throws(() => f.start(3n, 3n, [], Buffer.alloc(40), 0), isCode('ERR_FRAGMENT_BUDGET'));
  assert.throws(() => f.continue(1n, 2n, Buffer.alloc(21), 0), isCode('ERR_FRAGMENT_BUDGET'));
});

test('completed messages give their bytes back to the budget', () => {
  const f = new FragmentAssembler(limits, 'p');
  for (let seq = 1n; seq <= 10n; seq++) {
    assert.equal(f.start(seq, 2n, [], Buffer.alloc(60, Number(seq)), 0), undefined);
    assert.equal(f.pendingBytes, 60);
    const whole = f.continue(seq, 1n, Buffer.alloc(30, Number(seq)), 0);
    assert.equal(whole?.bytes.length, 90);
    assert.equal(f.pendingBytes, 0);
  }
});

test('a sequence with no fragment for timeoutMs is a protocol error; one that keeps coming is not', () => {
  const f = new FragmentAssembler(limits, 'p');
  f.start(1n, 100n, [], Buffer.alloc(1), 0);
  f.start(2n, 100n, [], Buffer.alloc(1), 0);
  let now = 0;
  for (let id = 99n; id > 90n; id--) {
    now += 4000;
    f.continue(2n, id, Buffer.alloc(1), now); // sequence 2 is alive; sequence 1 is not
    if (now < 5000) f.expire(now);
  }
  assert.throws(() => f.expire(now), (e: unknown) => isCode('ERR_FRAGMENT_TIMEOUT')(e) && /fragmented message 1 /.test((e as Error).message));
  const g = new FragmentAssembler(limits, 'p');
  g.start(1n, 3n, [], Buffer.alloc(1), 0);
  g.expire(4999);
  g.continue(1n, 2n, Buffer.alloc(1), 4999);
  g.expire(9998);
  assert.throws(() => g.expire(9999), isCode('ERR_FRAGMENT_TIMEOUT'));
});

test('a big fragment in a buffer of its own is held without a copy, its header counted; a view into a bigger chunk is copied', () => {
  const f = new FragmentAssembler({ ...limits, maxMessageSize: 1 << 20, maxPendingBytes: 1 << 20 }, 'p');
  // As the framer joins a frame spread over socket chunks: 19 header bytes, then the fragment.
  const joined = Buffer.alloc(19 + 8192, 1);
  f.start(1n, 3n, [], joined.subarray(19), 0);
  assert.equal(f.pendingBytes, 19 + 8192, 'the header in front of a kept fragment is counted');
  // A frame in the middle of a socket chunk: copying it keeps the chunk from being pinned.
  const chunk = Buffer.alloc(20_000, 2);
  f.continue(1n, 2n, chunk.subarray(100, 100 + 8192), 0);
  assert.equal(f.pendingBytes, 19 + 8192 + 8192);
  joined.fill(7, 19);
  chunk.fill(9);
  const whole = f.continue(1n, 1n, Buffer.alloc(10, 3), 0);
  assert.equal(f.pendingBytes, 0);
  // The kept fragment is the caller's buffer (the change shows); the copied one is not.
  assert.deepEqual([whole!.bytes[0], whole!.bytes[8191], whole!.bytes[8192], whole!.bytes[16383], whole!.bytes[16384]], [7, 7, 2, 2, 3]);
});

test('a big fragment whose header would not fit the budget is copied instead, as before', () => {
  const f = new FragmentAssembler({ ...limits, maxMessageSize: 1 << 20, maxPendingBytes: 8192 + 10 }, 'p');
  const joined = Buffer.alloc(19 + 8192, 1);
  f.start(1n, 2n, [], joined.subarray(19), 0);
  assert.equal(f.pendingBytes, 8192);
});
