import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { encode, decode, EncodeError } from '../../src/index.js';
import { atom, BitBinary, float, ImproperList, LocalTerm, Pid, Port, Reference, tuple, type Term } from '../../src/term/types.js';

const bytes = (t: Term) => [...encode(t)];

test('integers choose the smallest form, as term_to_binary does', () => {
  assert.deepEqual(bytes(0), [131, 97, 0]); // SMALL_INTEGER_EXT
  assert.deepEqual(bytes(256), [131, 98, 0, 0, 1, 0]); // INTEGER_EXT
  assert.deepEqual(bytes(-1), [131, 98, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(bytes(2 ** 31), [131, 110, 4, 0, 0, 0, 0, 0x80]); // SMALL_BIG_EXT | n | sign | LE digits
  assert.deepEqual(bytes(-(2 ** 40)), [131, 110, 6, 1, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(bytes(5n), [131, 97, 5], 'a small bigint is a small integer');
  assert.deepEqual(bytes(2n ** 64n), [131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const huge = encode(2n ** 2048n); // 257 digits: LARGE_BIG_EXT
  assert.deepEqual([...huge.subarray(0, 7)], [131, 111, 0, 0, 1, 1, 0]);
  assert.equal(decode(huge), 2n ** 2048n);
  assert.deepEqual(bytes(1e300).slice(0, 2), [131, 110], 'an integral double beyond 2^53 is an integer');
});

test('floats: NEW_FLOAT_EXT for non-integral numbers and Float', () => {
  assert.deepEqual(bytes(1.5), [131, 70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(bytes(float(1)), [131, 70, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => encode(Number.NaN), EncodeError);
  assert.throws(() => encode(float(Infinity)), EncodeError);
});

test('atoms, booleans, strings, binaries', () => {
  assert.deepEqual(bytes(atom('ok')), [131, 119, 2, 111, 107]); // SMALL_ATOM_UTF8_EXT
  assert.deepEqual(bytes(true), [131, 119, 4, 116, 114, 117, 101]);
  assert.deepEqual(bytes(atom('é')), [131, 119, 2, 0xc3, 0xa9]);
  assert.deepEqual(bytes('hé'), [131, 109, 0, 0, 0, 3, 104, 0xc3, 0xa9]); // a JS string is a UTF-8 binary
  assert.deepEqual(bytes(Buffer.from([1, 2])), [131, 109, 0, 0, 0, 2, 1, 2]);
  const long = encode(atom('é'.repeat(200))); // 400 bytes: ATOM_UTF8_EXT
  assert.deepEqual([...long.subarray(0, 4)], [131, 118, 1, 144]);
  assert.throws(() => encode(atom('a'.repeat(256))), /256 characters/);
});

test('lists: NIL, STRING_EXT for bytes, LIST_EXT otherwise, improper lists', () => {
  assert.deepEqual(bytes([]), [131, 106]);
  assert.deepEqual(bytes([104, 105]), [131, 107, 0, 2, 104, 105]);
  assert.deepEqual(bytes([1, 256]), [131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 0, 106]);
  assert.deepEqual(bytes(new ImproperList([1], 2)), [131, 108, 0, 0, 0, 1, 97, 1, 97, 2]);
  const big = new Array(70000).fill(1); // too long for STRING_EXT
  assert.equal(encode(big)[1], 108);
  // 7n and 7 are one Erlang integer: a list of bigint bytes is a string too, as decode then encode gives.
  assert.deepEqual(bytes([104n, 105]), [131, 107, 0, 2, 104, 105]);
  assert.deepEqual(bytes([[0n]]), bytes([[0]]));
  assert.deepEqual(bytes([256n]), bytes([256]));
});

test('tuples and maps; plain objects have atom keys', () => {
  assert.deepEqual(bytes(tuple(atom('ok'), 1)), [131, 104, 2, 119, 2, 111, 107, 97, 1]);
  assert.deepEqual(bytes(tuple()), [131, 104, 0]);
  assert.equal(encode(tuple(...new Array(256).fill(0)))[1], 105); // LARGE_TUPLE_EXT
  assert.deepEqual(bytes({ a: 1 }), [131, 116, 0, 0, 0, 1, 119, 1, 97, 97, 1]);
  assert.deepEqual(bytes(new Map([[1, 2]])), [131, 116, 0, 0, 0, 1, 97, 1, 97, 2]);
});

test('pids, ports, references', () => {
  const n = atom('n');
  assert.deepEqual(bytes(new Pid(n, 1, 2, 3)), [131, 88, 119, 1, 110, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
  assert.deepEqual(bytes(new Port(n, 5n, 3)), [131, 89, 119, 1, 110, 0, 0, 0, 5, 0, 0, 0, 3]);
  assert.deepEqual(bytes(new Port(n, 2n ** 40n, 3)), [131, 120, 119, 1, 110, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
  assert.deepEqual(bytes(new Reference(n, 3, [1, 2])), [131, 90, 0, 2, 119, 1, 110, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2]);
});

test('bitstrings: unused bits are cleared, whole bytes are binaries', () => {
  assert.deepEqual(bytes(new BitBinary(Buffer.from([0xff]), 3)), [131, 77, 0, 0, 0, 1, 3, 0xe0]);
  assert.deepEqual(bytes(new BitBinary(Buffer.from([7]), 8)), [131, 109, 0, 0, 0, 1, 7]);
});

test('compression: tag 80 when smaller, plain otherwise', () => {
  const big = 'x'.repeat(1000);
  const c = encode(big, { compressed: true });
  assert.equal(c[1], 80);
  assert.equal(c.readUInt32BE(2), 1005);
  assert.deepEqual(inflateSync(c.subarray(6)), encode(big).subarray(1));
  assert.equal(decode(c).toString(), big);
  assert.deepEqual(encode(1, { compressed: 9 }), encode(1), 'not smaller: left uncompressed');
  assert.throws(() => encode(1, { compressed: 11 }), /0-9/);
});

test('values with no Erlang form are refused with EncodeError', () => {
  for (const v of [null, undefined, () => 1, Symbol('s'), new Date(), new Float32Array(1)]) {
    assert.throws(() => encode(v as unknown as Term), (e: unknown) => e instanceof EncodeError && e.code === 'ERR_TERM_ENCODE');
  }
  assert.throws(() => encode(tuple(new LocalTerm(Buffer.from([1])))), /encoded whole/);
  const cyclic: Term[] = [];
  cyclic.push(cyclic);
  assert.throws(() => encode(cyclic), /cyclic/);
});

test('a million nested lists encode without overflowing the stack', () => {
  let deep: Term = [];
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  const out = encode(deep);
  assert.equal(out.length, 1 + 1_000_000 * 6 + 1);
  assert.ok(Array.isArray(decode(out)));
});

test('encode is re-entrant and does not leak state between calls', () => {
  const a = encode(tuple(1, 'x'.repeat(2_000_000)));
  const b = encode(atom('ok'));
  assert.deepEqual([...b], [131, 119, 2, 111, 107]);
  assert.equal(a.length, 2_000_000 + 10);
});

test('an EncodeError says where in the value the problem is, as a path from the root', () => {
  const where = (v: unknown): string | undefined => {
    try {
      encode(v as Term);
    } catch (e) {
      assert.ok(e instanceof EncodeError);
      assert.equal(e.code, 'ERR_TERM_ENCODE');
      assert.ok(e.message.startsWith(`${e.path}: `), e.message);
      return e.path;
    }
    return assert.fail('encoded');
  };
  assert.equal(where({ items: [1, 2, 3, { a: 1, b: undefined }] }), 'term.items[3].b');
  assert.equal(where(tuple(atom('ok'), [1, null as unknown as Term])), 'term[1][1]');
  assert.equal(where(new Map<Term, Term>([[atom('k'), Number.NaN]])), 'term.k');
  assert.equal(where(new Map<Term, Term>([[tuple(1), (() => 1) as unknown as Term]])), 'term{value #0}');
  assert.equal(where(new Map<Term, Term>([[Symbol('s') as unknown as Term, 1]])), 'term{key #0}');
  assert.equal(where(new ImproperList([1], undefined as unknown as Term)), 'term.tail');
  assert.equal(where(undefined), 'term');
  assert.equal(where([new Date()]), 'term[0]');
  // The same object twice is not a cycle; an object inside itself is, at its first repeat.
  const shared = [1];
  assert.equal(where([shared, shared, { z: [undefined] }]), 'term[2].z[0]');
  const cyclic: Term[] = [1];
  cyclic.push(cyclic);
  assert.equal(where(cyclic), 'term[1]');
  assert.match(String(where({ ['k'.repeat(300)]: 1 })), /^term…/, 'long paths are cut');
  let deep: Term = undefined as unknown as Term;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.ok(String(where(deep)).length < 300);
});
