// encode's results: written in place in a shared slab (small ones), moved out of it when a
// term outgrows the room left, copied or handed over from the scratch writer (large ones).
// Whatever the path, a result is exactly its term's bytes and no later encode touches it.
// The expected bytes come from encodeInto into a buffer of its own, which never uses the slab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { atom, decode, encode, encodeInto, Fun, Pid, tuple, type Term } from '../../src/index.js';
import { arbTerm } from '../support/term-arbitrary.js';

/** The encoding of `t` by encodeInto, into a zeroed buffer of its own. */
function expected(t: Term): Buffer {
  const out = Buffer.alloc(1 << 20);
  return Buffer.from(out.subarray(0, encodeInto(t, out)));
}

/** Fails when two of `results` share bytes of memory. */
function assertDisjoint(results: Buffer[]): void {
  const byMemory = new Map<ArrayBufferLike, Array<[number, number]>>();
  for (const r of results) {
    const ranges = byMemory.get(r.buffer) ?? [];
    ranges.push([r.byteOffset, r.byteOffset + r.length]);
    byMemory.set(r.buffer, ranges);
  }
  for (const ranges of byMemory.values()) {
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i][0] >= ranges[i - 1][1], `results overlap at ${ranges[i][0]}`);
  }
}

/** Terms of about `size` encoded bytes that keep lengths to patch across writes (funs, non-ASCII strings, bignums). */
function patchedTerm(size: number, i: number): Term {
  const pid = new Pid(atom('n@127.0.0.1'), i, 0, 1);
  switch (i % 4) {
    case 0:
      return new Fun(1, Buffer.alloc(16, i), 3, atom('m'), 0, 12345, pid, [Buffer.alloc(size, i & 0xff), atom('x')]);
    case 1:
      return tuple('é'.repeat(size >> 1), i);
    case 2:
      return [Buffer.alloc(size, 1), 2 ** 40 + i, -(2 ** 50) - i];
    default:
      return new Map<Term, Term>([[atom('fun'), new Fun(0, Buffer.alloc(16, 7), 1, atom('m'), 0, 1, pid, ['ü'.repeat(size >> 2)])]]);
  }
}

test('encode: every result is its term and no later encode writes over it, across slabs and sizes', () => {
  const terms: Term[] = [];
  for (let i = 0; i < 4000; i++) {
    // Mostly small (many slabs of them), now and then one near or over the slab limit, or large.
    const size = i % 97 === 0 ? 70_000 : i % 13 === 0 ? 2000 + ((i * 611) % 9000) : i % 3;
    terms.push(i % 5 === 0 ? patchedTerm(size, i) : tuple(atom('msg'), i, Buffer.alloc(size, i & 0xff)));
  }
  const results = terms.map((t) => encode(t));
  terms.forEach((t, i) => assert.deepEqual(results[i], expected(t), `term ${i}`));
  assertDisjoint(results);
});

test('encode: a term that outgrows the room left in the slab moves out whole, its patched lengths right', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat({ max: 300 }), fc.integer({ min: 100, max: 9000 })), { minLength: 1, maxLength: 30 }), (steps) => {
      const terms: Term[] = [];
      const results: Buffer[] = [];
      steps.forEach(([lead, size], i) => {
        // Small results move the slab position on; then a term that may not fit in what is left.
        for (let k = 0; k < lead; k++) {
          const t = tuple(atom('lead'), k);
          terms.push(t);
          results.push(encode(t));
        }
        const t = patchedTerm(size, i);
        terms.push(t);
        results.push(encode(t));
      });
      terms.forEach((t, i) => assert.deepEqual(results[i], expected(t)));
      assertDisjoint(results);
    }),
    { numRuns: 60 },
  );
});

test('encode agrees with encodeInto on generated terms, every result kept intact', () => {
  fc.assert(
    fc.property(fc.array(arbTerm, { minLength: 1, maxLength: 40 }), (ts) => {
      const results = ts.map((t) => encode(t));
      ts.forEach((t, i) => assert.deepEqual(results[i], expected(t)));
      assertDisjoint(results);
    }),
    { numRuns: 200 },
  );
});

test('encode is re-entrant: a getter that encodes gets a result of its own, and so does the caller', () => {
  const inner: Buffer[] = [];
  const term = {
    get a(): Term {
      inner.push(encode(tuple(atom('inner'), inner.length)));
      return 1;
    },
    b: 'x'.repeat(100),
  } as unknown as Term;
  const outer = [encode(term), encode(term)];
  const later = [encode(atom('later')), encode('y'.repeat(500))];
  assert.deepEqual(outer[0], expected({ a: 1, b: 'x'.repeat(100) }));
  assert.deepEqual(outer[1], outer[0]);
  assert.deepEqual(inner[0], expected(tuple(atom('inner'), 0)));
  assert.deepEqual(inner[1], expected(tuple(atom('inner'), 1)));
  assert.deepEqual(later[0], expected(atom('later')));
  assertDisjoint([...outer, ...inner, ...later]);
});

test('encode: a compressed result is not written over, and the plain bytes it replaced are reused', () => {
  const terms: Term[] = [];
  const results: Buffer[] = [];
  for (let round = 0; round < 50; round++) {
    for (const t of [tuple(atom('before'), round), atom('b'), Buffer.alloc(round * 20, 1)]) {
      terms.push(t);
      results.push(encode(t));
    }
    const big = Buffer.alloc(4000, 0x61 + (round % 20));
    const packed = encode(big, { compressed: true });
    assert.equal(packed[1], 80, 'compressed');
    terms.push(big);
    results.push(packed);
    const after = tuple(atom('after'), Buffer.alloc(3000, round));
    terms.push(after);
    results.push(encode(after));
  }
  terms.forEach((t, i) => assert.deepEqual(results[i][1] === 80 ? encode(decode(results[i]) as Term) : results[i], expected(t), `term ${i}`));
  assertDisjoint(results);
});

test('encode: a failed encode leaves nothing behind for the next result', () => {
  assert.throws(() => encode(tuple(atom('ok'), Buffer.alloc(5000, 9), null as unknown as Term)));
  assert.throws(() => encode([Buffer.alloc(20_000, 9), undefined as unknown as Term]));
  const t = tuple(atom('ok'), Buffer.alloc(100, 3));
  assert.deepEqual(encode(t), expected(t));
});

test('atoms are written whole and nothing past them, whatever their length and offset', () => {
  for (let len = 0; len <= 13; len++) {
    for (const name of ['a'.repeat(len), 'é'.repeat(len)]) {
      const bytes = Buffer.from(name, 'utf8');
      const want = Buffer.from([131, 119, bytes.length, ...bytes]);
      assert.deepEqual(encode(atom(name)), want, name);
      for (let offset = 0; offset < 4; offset++) {
        const buffer = Buffer.alloc(want.length + offset + 4, 0xee);
        assert.equal(encodeInto(atom(name), buffer, offset), want.length);
        assert.deepEqual(buffer.subarray(offset, offset + want.length), want);
        assert.ok(buffer.subarray(0, offset).every((x) => x === 0xee), 'nothing before');
        assert.ok(buffer.subarray(offset + want.length).every((x) => x === 0xee), `nothing after ${name} at ${offset}`);
        // Exactly the room it takes: the last word's padding must not be written.
        assert.equal(encodeInto(atom(name), buffer.subarray(0, offset + want.length), offset), want.length);
      }
    }
  }
  const long = 'ü'.repeat(200); // 400 bytes: ATOM_UTF8_EXT
  assert.deepEqual(encode(atom(long)), Buffer.from([131, 118, 1, 144, ...Buffer.from(long, 'utf8')]));
});

test('encode: a large binary grows the writer to what it takes, not a quarter more', () => {
  for (const t of [Buffer.alloc(64 * 1024, 1), tuple(atom('data'), Buffer.alloc(100_000, 2), atom('ok'))]) {
    const out = encode(t);
    assert.deepEqual(out, expected(t));
    assert.ok(out.buffer.byteLength <= out.length + 256, `kept ${out.buffer.byteLength} bytes for ${out.length}`);
  }
  // Two large binaries: the second grows the buffer geometrically (no copy of everything per binary).
  const two = [Buffer.alloc(40_000, 3), Buffer.alloc(40_000, 4)];
  assert.deepEqual(encode(two), expected(two));
});
