// The fast-path options of the codec: encodeInto (no result buffer) and decode's
// `binaries` option (UTF-8 binaries as strings), and the caches behind the fast paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { atom, decode, encode, encodeInto, EncodeError, ErrorCode, InvalidOptionError, LocalTerm, tuple, type Term } from '../../src/index.js';
import { arbTerm } from '../support/term-arbitrary.js';
import { termEqual } from '../support/term-equal.js';

const b = (...bytes: number[]) => Buffer.from(bytes);
/** 131, MAP_EXT of `pairs` pairs, then `body`. */
const map = (pairs: number, ...body: number[]) => b(131, 116, 0, 0, 0, pairs, ...body);
const bin = (s: string | number[]) => {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  return [109, 0, 0, 0, bytes.length, ...bytes];
};

test('encodeInto writes what encode returns, at the offset, and says how many bytes', () => {
  const term = tuple(atom('ok'), new Map<Term, Term>([['key', [1, 2, 300]]]), Buffer.alloc(100, 7));
  const expected = encode(term);
  const buffer = Buffer.alloc(expected.length + 10, 0xee);
  assert.equal(encodeInto(term, buffer, 3), expected.length);
  assert.deepEqual(buffer.subarray(3, 3 + expected.length), expected);
  assert.equal(buffer[2], 0xee, 'nothing before the offset is touched');
  assert.equal(buffer[3 + expected.length], 0xee, 'nothing after the encoding is touched');
  // A plain Uint8Array works too, and the offset defaults to 0.
  const u8 = new Uint8Array(expected.length);
  assert.equal(encodeInto(term, u8), expected.length);
  assert.deepEqual(Buffer.from(u8), expected);
  assert.equal(encodeInto(new LocalTerm(b(1, 2)), u8), 4, 'a LocalTerm is written whole');
});

test('encodeInto with too small a buffer throws ERR_TERM_ENCODE_BUFFER_TOO_SMALL with the size needed', () => {
  const term = new Map<Term, Term>([[atom('a'), 'x'.repeat(50)]]);
  const size = encode(term).length;
  for (const room of [0, 1, 5, size - 1]) {
    const err = (() => {
      try {
        encodeInto(term, Buffer.alloc(room + 2), 2);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof EncodeError, `room ${room}`);
    assert.equal(err.code, ErrorCode.TERM_ENCODE_BUFFER_TOO_SMALL);
    assert.equal(err.needed, size);
    assert.match(err.message, new RegExp(`takes ${size} bytes, ${room} available`));
  }
  assert.equal(encodeInto(term, Buffer.alloc(size + 2), 2), size, 'exactly enough room is enough');
  // A term that cannot be encoded at all is that error, not a size error.
  assert.throws(() => encodeInto([1, null as unknown as Term], Buffer.alloc(1)), (e: EncodeError) => e.code === ErrorCode.TERM_ENCODE && e.needed === undefined);
  assert.throws(() => encodeInto(1, Buffer.alloc(4), 5), RangeError);
  assert.throws(() => encodeInto(1, Buffer.alloc(4), -1), RangeError);
  // The shared encoder is left clean by a failed encodeInto.
  assert.deepEqual(encode(atom('ok')), b(131, 119, 2, 111, 107));
});

test('encodeInto is re-entrant: a getter that encodes into another buffer leaves both right', () => {
  const inner = Buffer.alloc(16);
  let innerBytes = 0;
  const term = {
    get a(): Term {
      innerBytes = encodeInto(atom('x'), inner);
      return 1;
    },
  } as unknown as Term;
  const outer = Buffer.alloc(64);
  const n = encodeInto(term, outer);
  assert.deepEqual(outer.subarray(0, n), encode({ a: 1 }));
  assert.deepEqual(inner.subarray(0, innerBytes), encode(atom('x')));
});

test('encodeInto agrees with encode on generated terms, whatever the room', () => {
  const buffer = Buffer.alloc(64 * 1024);
  fc.assert(
    fc.property(arbTerm, fc.nat({ max: 64 }), (t, offset) => {
      const expected = encode(t);
      if (expected.length + offset > buffer.length) return;
      assert.equal(encodeInto(t, buffer, offset), expected.length);
      assert.deepEqual(buffer.subarray(offset, offset + expected.length), expected);
      if (expected.length > 1) {
        assert.throws(() => encodeInto(t, buffer.subarray(0, offset + expected.length - 1), offset), (e: EncodeError) => e.needed === expected.length);
      }
    }),
    { numRuns: 300 },
  );
});

test("binaries: 'utf8' decodes every valid UTF-8 binary as a string, others stay Buffers", () => {
  const bytes = b(131, 108, 0, 0, 0, 4, ...bin('hello'), ...bin('héllo ✓'), ...bin([0xff, 0xfe]), ...bin(''), 106);
  assert.deepEqual(decode(bytes, { binaries: 'utf8' }), ['hello', 'héllo ✓', b(0xff, 0xfe), '']);
  assert.deepEqual(decode(bytes), [Buffer.from('hello'), Buffer.from('héllo ✓'), b(0xff, 0xfe), b()], 'the default is Buffers');
  assert.deepEqual(decode(bytes, { binaries: 'buffer' }), decode(bytes));
  // Not valid UTF-8: a lone surrogate's encoding (CESU), an overlong form, a truncated sequence.
  for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe2, 0x9c]]) {
    assert.deepEqual(decode(b(131, ...bin(bad)), { binaries: 'utf8' }), Buffer.from(bad), `bytes ${bad}`);
  }
  // A leading byte-order mark is kept: the string encodes back to the same bytes.
  const bom = b(131, ...bin([0xef, 0xbb, 0xbf, 0x61]));
  assert.equal(decode(bom, { binaries: 'utf8' }), '\ufeffa');
  assert.deepEqual(encode(decode(bom, { binaries: 'utf8' })), bom);
  // Long binaries (views otherwise) and binaries deep in the iterative decoder.
  const long = 'ü'.repeat(5000);
  assert.equal(decode(encode(long), { binaries: 'utf8' }), long);
  let deep: Term = 'bottom';
  for (let i = 0; i < 2000; i++) deep = [deep];
  let got = decode(encode(deep), { binaries: 'utf8' });
  for (let i = 0; i < 2000; i++) got = (got as Term[])[0];
  assert.equal(got, 'bottom');
});

test("binaries: 'utf8-keys' decodes binary map keys as strings and leaves values alone", () => {
  // #{<<"id">> => <<"x">>, <<255>> => 1, an_atom => <<"v">>}
  const bytes = map(3, ...bin('id'), ...bin('x'), ...bin([255]), 97, 1, 119, 7, ...Buffer.from('an_atom'), ...bin('v'));
  const m = decode(bytes, { binaries: 'utf8-keys' }) as Map<Term, Term>;
  assert.deepEqual([...m.keys()], ['id', b(255), atom('an_atom')]);
  assert.deepEqual(m.get('id'), Buffer.from('x'), 'values stay Buffers');
  assert.deepEqual(m.get(atom('an_atom')), Buffer.from('v'));
  // Keys of maps below the iterative decoder's threshold and above it.
  let deep: Term = new Map<Term, Term>([['k', 'v']]);
  for (let i = 0; i < 2000; i++) deep = new Map<Term, Term>([['k', deep]]);
  let got = decode(encode(deep), { binaries: 'utf8-keys' }) as Map<Term, Term>;
  for (let i = 0; i < 2000; i++) got = got.get('k') as Map<Term, Term>;
  assert.deepEqual(got.get('k'), Buffer.from('v'));
  // Duplicate keys are still refused when keys are strings.
  assert.throws(() => decode(map(2, ...bin('a'), 97, 1, ...bin('a'), 97, 2), { binaries: 'utf8-keys' }), /duplicate key/);
  assert.throws(() => decode(map(1, 109, 0, 0, 0, 9, 97), { binaries: 'utf8-keys' }), /truncated/);
});

test('binaries as strings round-trip to the same bytes, and the option is checked', () => {
  fc.assert(
    fc.property(arbTerm, (t) => {
      const bytes = encode(t);
      for (const binaries of ['utf8', 'utf8-keys'] as const) {
        const decoded = decode(bytes, { binaries });
        assert.ok(termEqual(decoded, t));
        assert.deepEqual(encode(decoded), bytes);
      }
    }),
    { numRuns: 500 },
  );
  assert.throws(() => decode(b(131, 97, 1), { binaries: 'latin1' as 'utf8' }), InvalidOptionError);
});

test('binaries as strings: the recent-string cache never confuses strings with the same hash slot', () => {
  const words = Array.from({ length: 5000 }, (_, i) => `k${i.toString(36)}${'y'.repeat(i % 30)}`);
  for (let round = 0; round < 2; round++) {
    const decoded = decode(encode(words), { binaries: 'utf8' }) as Term[];
    decoded.forEach((w, i) => assert.equal(w, words[i]));
  }
  // One byte apart, same length; and longer than the cached length.
  assert.equal(decode(encode('abcd'), { binaries: 'utf8' }), 'abcd');
  assert.equal(decode(encode('abce'), { binaries: 'utf8' }), 'abce');
  const long = 'z'.repeat(33);
  assert.equal(decode(encode(long), { binaries: 'utf8' }), long);
});

test('atoms: the recent-atom cache never confuses names with the same hash slot', () => {
  // Many distinct names through a 1024-slot cache: every one decodes to its own atom.
  const names = Array.from({ length: 5000 }, (_, i) => `atom_${i.toString(36)}_${'x'.repeat(i % 7)}`);
  const decoded = decode(encode(names.map((n) => atom(n)))) as Term[];
  decoded.forEach((a, i) => assert.equal(a, atom(names[i])));
  const again = decode(encode(names.map((n) => atom(n)))) as Term[];
  again.forEach((a, i) => assert.equal(a, atom(names[i])));
  // Same bytes, same length, differing in one byte.
  assert.equal(decode(encode(atom('abcd'))), atom('abcd'));
  assert.equal(decode(encode(atom('abce'))), atom('abce'));
  // Latin-1 and UTF-8 atoms with bytes over 127 are not cached by bytes: each tag keeps its meaning.
  assert.equal(decode(b(131, 115, 1, 0xe9)), atom('é'), 'SMALL_ATOM_EXT is Latin-1');
  assert.equal(decode(b(131, 119, 2, 0xc3, 0xa9)), atom('é'), 'SMALL_ATOM_UTF8_EXT is UTF-8');
  assert.equal(decode(b(131, 115, 2, 0xc3, 0xa9)), atom('Ã©'));
  // A leading U+FEFF is part of an atom's name.
  assert.equal(decode(b(131, 119, 4, 0xef, 0xbb, 0xbf, 0x61)), atom('\ufeffa'));
});

test('recent names: names that share a cache slot (same length, first, middle and last two bytes) stay apart', () => {
  // The slot is chosen from those five only, so each group always shares one (and three
  // overflow its two ways): each decode must still give its own name (a miss, never a
  // wrong hit), in every tag and mode.
  const groups = [
    ['aBCmDyz', 'aQRmSyz', 'aXYmZyz'],
    ['user_1_id', 'user_2_id'],
    ['x', 'x'],
  ];
  for (let round = 0; round < 3; round++) {
    for (const group of groups) {
      for (const name of [...group, ...group.reverse()]) {
        assert.equal(decode(encode(atom(name))), atom(name));
        assert.equal(decode(b(131, 100, 0, name.length, ...Buffer.from(name))), atom(name), 'ATOM_EXT');
        assert.equal(decode(b(131, 115, name.length, ...Buffer.from(name))), atom(name), 'SMALL_ATOM_EXT');
        assert.equal(decode(encode(name), { binaries: 'utf8' }), name);
        const m = decode(encode(new Map<Term, Term>([[name, 1]])), { binaries: 'utf8-keys' }) as Map<Term, Term>;
        assert.deepEqual([...m.keys()], [name]);
      }
    }
  }
  // The bytes of a cached ASCII name under a tag that reads them differently are not it.
  assert.equal(decode(b(131, 119, 2, 0x61, 0x62)), atom('ab'));
  assert.equal(decode(b(131, 115, 2, 0xe1, 0x62)), atom('\u00e1b'), 'Latin-1 0xe1 is not a cache hit for "ab"');
  assert.equal(decode(b(131, 119, 3, 0xc3, 0xa1, 0x62)), atom('\u00e1b'), 'UTF-8 á');
  // The empty name.
  assert.equal(decode(b(131, 119, 0)), atom(''));
  assert.equal(decode(b(131, 100, 0, 0)), atom(''));
  assert.equal(decode(b(131, 109, 0, 0, 0, 0), { binaries: 'utf8' }), '');
});

test('encode hands over a large result without a copy only when it is mostly full', () => {
  const big = Buffer.alloc(64 * 1024, 1);
  const out = encode(big);
  assert.equal(out.length, 64 * 1024 + 6);
  assert.ok(out.buffer.byteLength <= Math.ceil(out.length * 1.34), `kept ${out.buffer.byteLength} bytes for ${out.length}`);
  const next = encode(big);
  assert.notEqual(next.buffer, out.buffer, 'the next encode does not write over a result it handed out');
  assert.deepEqual(out, next);
  const small = encode(tuple(atom('ok'), 'x'));
  assert.ok(small.buffer.byteLength <= 16 * 1024, 'a small result is a copy, not the encoder buffer');
  // Small results after small ones too: a kept result keeps no more than its 16 KiB slab alive.
  for (let i = 0; i < 100; i++) {
    const r = encode(tuple(atom('ok'), i, 'x'.repeat(i * 40)));
    assert.ok(r.buffer.byteLength <= 16 * 1024, `result ${i} keeps ${r.buffer.byteLength} bytes alive`);
  }
});
