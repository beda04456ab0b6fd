// References use every word, as BEAM's do: no repeats after 2^18 (the old bug).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefMaker, RefMap } from '../../src/node/refs.js';
import { atom, Reference } from '../../src/term/types.js';

const NODE = atom('ts@127.0.0.1');

test('references do not repeat past 2^18, and the first word keeps to 18 bits', () => {
  const refs = new RefMaker(NODE, 7);
  const seen = new Set<string>();
  for (let i = 0; i < (1 << 18) + 1000; i++) {
    const r = refs.make();
    assert.ok(r.id[0] < 1 << 18);
    seen.add(r.id.join('.'));
  }
  assert.equal(seen.size, (1 << 18) + 1000);
});

test('the counter carries from word to word and wraps the last one', () => {
  const refs = RefMaker.startingAt(NODE, 7, [0x3ffff, 0xffffffff, 0xffffffff]);
  assert.deepEqual(refs.make().id, [0x3ffff, 0xffffffff, 0xffffffff]);
  assert.deepEqual(refs.make().id, [0, 0, 0]);
  assert.deepEqual(refs.make().id, [1, 0, 0]);
});

test('two makers (two incarnations) start at different points', () => {
  assert.notEqual(new RefMaker(NODE, 7).make().id.join('.'), new RefMaker(NODE, 7).make().id.join('.'));
});

test('RefMap compares references by value, and keeps apart those that share a bucket', () => {
  const map = new RefMap<string>();
  const ref = (words: number[], node = NODE, creation = 7) => new Reference(node, creation, words);
  // Same first two words (one bucket), told apart by word 2, the node, the creation, a
  // first word past 18 bits that lands on the same number, and the word count.
  const sharing = [
    ref([1, 2, 3]),
    ref([1, 2, 4]),
    ref([1, 2, 3], atom('other@127.0.0.1')),
    ref([1, 2, 3], NODE, 8),
    ref([1 + (1 << 18), 1, 3]),
    ref([1, 2, 3, 4, 5]),
  ];
  sharing.forEach((r, i) => map.set(r, `v${i}`));
  assert.equal(map.size, sharing.length);
  sharing.forEach((r, i) => assert.equal(map.get(new Reference(r.node, r.creation, [...r.id])), `v${i}`));
  map.set(ref([1, 2, 4]), 'again');
  assert.equal(map.size, sharing.length, 'setting an existing key replaces its value');
  assert.equal(map.get(ref([1, 2, 4])), 'again');
  assert.equal(map.delete(ref([1, 2, 3])), 'v0');
  assert.equal(map.delete(ref([1, 2, 3])), undefined);
  assert.equal(map.get(ref([1, 2, 3], NODE, 8)), 'v3', 'the rest of the bucket stays');
  assert.equal(map.has(ref([9, 9, 9])), false);
  assert.deepEqual([...map.values()].sort(), ['again', 'v2', 'v3', 'v4', 'v5']);
  for (const r of sharing) map.delete(r);
  assert.equal(map.size, 0);
});
