import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, decode, encode, type Term } from '../../src/index.js';
import { recentAtom, recentString } from '../../src/term/recent-names.js';

/** The keys of the structs and maps that nessie's decode benchmarks hold (Ecto schemas, DateTime, key_N). */
const KEYS = [
  '__struct__', '__meta__', 'id', 'email', 'name', 'inserted_at', 'updated_at', 'calendar', 'day', 'hour',
  'microsecond', 'minute', 'month', 'second', 'std_offset', 'time_zone', 'utc_offset', 'year', 'zone_abbr',
  'context', 'prefix', 'schema', 'source', 'state', ...Array.from({ length: 20 }, (_, i) => `key_${i}`),
];

test('recent names: every key of a struct-like map stays cached after one decode (no two evict each other)', () => {
  const map = new Map<Term, Term>(KEYS.map((k, i) => [atom(k), i]));
  for (let round = 0; round < 2; round++) decode(encode(map));
  for (const k of KEYS) {
    const bytes = Buffer.from(k);
    assert.equal(recentAtom(bytes, 0, bytes.length), atom(k), k);
  }
  // The same keys as binaries, decoded with 'utf8-keys'.
  const binaryKeyed = new Map<Term, Term>(KEYS.map((k, i) => [Buffer.from(k), i]));
  for (let round = 0; round < 2; round++) decode(encode(binaryKeyed), { binaries: 'utf8-keys' });
  for (const k of KEYS) {
    const bytes = Buffer.from(k);
    assert.equal(recentString(bytes, 0, bytes.length), k, k);
  }
});

test('recent names: two names of one slot, used in turn, both stay cached', () => {
  // Same length, first, middle and last two bytes: the same slot whatever the mixing.
  const [one, other] = ['aBCmDyz', 'aQRmSyz'];
  decode(encode([atom(one), atom(other), atom(one), atom(other)]));
  for (const name of [one, other]) assert.equal(recentAtom(Buffer.from(name), 0, name.length), atom(name));
});
