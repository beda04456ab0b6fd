// References use every word, as BEAM's do: no repeats after 2^18 (the old bug).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefMaker, refKey } from '../../src/node/refs.js';
import { atom } from '../../src/term/types.js';

const NODE = atom('ts@127.0.0.1');

test('references do not repeat past 2^18, and the first word keeps to 18 bits', () => {
  const refs = new RefMaker(NODE, 7);
  const seen = new Set<string>();
  for (let i = 0; i < (1 << 18) + 1000; i++) {
    const r = refs.make();
    assert.ok(r.id[0] < 1 << 18);
    seen.add(refKey(r));
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
  assert.notEqual(refKey(new RefMaker(NODE, 7).make()), refKey(new RefMaker(NODE, 7).make()));
});
