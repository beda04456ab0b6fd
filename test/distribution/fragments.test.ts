// Reassembly limits: one byte budget for all incomplete messages of a connection, and
// a timeout for sequences that stall. The clock is passed in, so no test waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistProtocolError } from '../../src/errors.js';
import { FragmentAssembler } from '../../src/distribution/fragments.js';
import { spyOnConcat } from '../support/concat-spy.js';

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

test('big pieces are held as views, the buffer each pins counted once; small pieces are copied; the message is joined once', () => {
  const f = new FragmentAssembler({ ...limits, maxMessageSize: 1 << 20, maxPendingBytes: 1 << 20 }, 'p');
  // As the framer hands on a frame spread over socket chunks: views of the chunks.
  const chunkA = Buffer.alloc(20_000, 1);
  const chunkB = Buffer.alloc(20_000, 2);
  f.start(1n, 4n, [], [chunkA.subarray(19), chunkB.subarray(0, 8192)], 0);
  assert.equal(f.pendingBytes, 40_000, 'each chunk a big piece pins is counted whole');
  // The next fragment begins in the chunk the last one ended in: not counted again.
  f.continue(1n, 3n, [chunkB.subarray(8192 + 18)], 0);
  assert.equal(f.pendingBytes, 40_000);
  // A small piece of a big chunk is copied rather than pinning the chunk.
  const chunkC = Buffer.alloc(20_000, 3);
  f.continue(1n, 2n, chunkC.subarray(0, 10), 0);
  assert.equal(f.pendingBytes, 40_010);
  chunkA.fill(7);
  chunkC.fill(9);
  const size = 19_981 + 8192 + 20_000 - 8210 + 10 + 5;
  const copied = countConcatBytes(() => {
    const whole = f.continue(1n, 1n, Buffer.alloc(5, 4), 0);
    assert.equal(f.pendingBytes, 0);
    // The kept pieces are the caller's buffers (the change shows); the copied one is not.
    const b = whole!.bytes;
    assert.equal(b.length, size);
    assert.deepEqual([b[0], b[19_980], b[19_981], b[size - 16], b[size - 15], b[size - 6], b[size - 1]], [7, 7, 2, 2, 3, 3, 4]);
  });
  assert.equal(copied, size, 'one join of the whole message');
});

test('a big piece whose buffer would not fit the budget is copied instead', () => {
  const f = new FragmentAssembler({ ...limits, maxMessageSize: 1 << 20, maxPendingBytes: 8192 + 10 }, 'p');
  const joined = Buffer.alloc(19 + 8192, 1);
  f.start(1n, 2n, [], joined.subarray(19), 0);
  assert.equal(f.pendingBytes, 8192);
});

function countConcatBytes(run: () => void): number {
  const spy = spyOnConcat();
  try {
    run();
  } finally {
    spy.restore();
  }
  return spy.bytes;
}
