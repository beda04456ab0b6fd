// The receive side of the distribution header: atom cache entries and references,
// long atoms, and fragment reassembly with its limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistProtocolError } from '../../src/errors.js';
import { AtomCache, atomCacheRefsEnd, fragmentHeader, readFragmentIds } from '../../src/distribution/dist-header.js';
import { FragmentAssembler } from '../../src/distribution/fragments.js';
import { atom } from '../../src/term/types.js';

test('new cache entries, then references to them in a later header', () => {
  const cache = new AtomCache();
  // 2 refs | flags: ref0 new seg 1 (0b1001), ref1 new seg 0 (0b1000) -> byte 0x89; LongAtoms=0 in byte 1
  const first = Buffer.from([2, 0x89, 0x00, 5, 2, 0x6f, 0x6b, 7, 3, 0x66, 0x6f, 0x6f]);
  const r1 = cache.readRefs(first, 0, 'p');
  assert.deepEqual(r1.refs, [atom('ok'), atom('foo')]);
  assert.equal(r1.offset, first.length);
  // 1 ref, old entry, segment 1 index 5 -> 'ok'
  const second = Buffer.from([1, 0x01, 5]);
  assert.deepEqual(cache.readRefs(second, 0, 'p').refs, [atom('ok')]);
  assert.throws(() => cache.readRefs(Buffer.from([1, 0x02, 9]), 0, 'p'), /empty entry/);
});

test('long atoms use 2-byte lengths', () => {
  const cache = new AtomCache();
  // 1 ref: flags half-byte 0b1000 (new, seg 0); LongAtoms flag in the next half-byte (high nibble) = 1 -> 0x18
  const buf = Buffer.from([1, 0x18, 3, 0, 2, 0x68, 0x69]);
  assert.deepEqual(cache.readRefs(buf, 0, 'p').refs, [atom('hi')]);
});

test('truncated headers are protocol errors', () => {
  assert.throws(() => new AtomCache().readRefs(Buffer.from([3, 0x88]), 0, 'p'), DistProtocolError);
});

test('fragments reassemble in order and respect the limits', () => {
  const f = new FragmentAssembler({ maxMessageSize: 10, maxOpenSequences: 1, maxPendingBytes: 100, timeoutMs: 1000 }, 'p');
  assert.equal(f.start(1n, 3n, [], Buffer.from('ab'), 0), undefined);
  assert.equal(f.continue(1n, 2n, Buffer.from('cd'), 0), undefined);
  assert.deepEqual(f.continue(1n, 1n, Buffer.from('ef'), 0)?.bytes, Buffer.from('abcdef'));
  assert.throws(() => f.continue(9n, 1n, Buffer.from('x'), 0), /unknown sequence/);
  f.start(2n, 2n, [], Buffer.from('12'), 0);
  assert.throws(() => f.start(3n, 2n, [], Buffer.from('x'), 0), /open/);
  assert.throws(() => f.continue(2n, 1n, Buffer.alloc(9), 0), /exceeds/);
  const h = fragmentHeader(true, 7n, 3n);
  assert.deepEqual(readFragmentIds(h, 2, 'p'), { sequenceId: 7n, fragmentId: 3n, offset: 18 });
});

test('atomCacheRefsEnd finds where a header ends, or says it runs past the buffer, reading nothing into the cache', () => {
  const header = Buffer.from([2, 0x89, 0x00, 5, 2, 0x6f, 0x6b, 7, 3, 0x66, 0x6f, 0x6f]);
  assert.equal(atomCacheRefsEnd(header, 0), header.length);
  assert.equal(atomCacheRefsEnd(Buffer.concat([header, Buffer.from([1, 2, 3])]), 0), header.length);
  for (let cut = 0; cut < header.length; cut++) assert.equal(atomCacheRefsEnd(header.subarray(0, cut), 0), undefined, `cut at ${cut}`);
  assert.equal(atomCacheRefsEnd(Buffer.from([0]), 0), 1);
  // Long atoms (LongAtoms set): 2-byte lengths.
  const long = Buffer.from([1, 0x18, 0, 0, 3, 0x61, 0x62, 0x63]);
  assert.equal(atomCacheRefsEnd(long, 0), long.length);
  assert.deepEqual(new AtomCache().readRefs(long, 0, 'p').refs, [atom('abc')]);
});
