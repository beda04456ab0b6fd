import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { decode, DecodeError } from '../../src/index.js';
import { decodeTerm } from '../../src/term/decode.js';
import {
  atom,
  BitBinary,
  ExternalFun,
  Float,
  Fun,
  ImproperList,
  LocalTerm,
  Pid,
  Port,
  Reference,
  Tuple,
  tuple,
} from '../../src/term/types.js';

const b = (...bytes: number[]) => Buffer.from(bytes);
const SENTINEL = [0xde, 0xad];

/** Decodes `bytes` (no version byte) followed by sentinel bytes and checks that decoding stopped before them. */
function decodeBody(...bytes: number[]) {
  const { term, offset } = decodeTerm(b(...bytes, ...SENTINEL), 0);
  assert.equal(offset, bytes.length, 'decoder consumed exactly the term');
  return term;
}

test('integers: SMALL_INTEGER_EXT, INTEGER_EXT, bignums as number or bigint', () => {
  assert.equal(decodeBody(97, 255), 255);
  assert.equal(decodeBody(98, 0xff, 0xff, 0xff, 0xfe), -2); // INTEGER_EXT, signed 32-bit
  // SMALL_BIG_EXT | n=3 | sign=1 | 0x010000 little-endian: -65536
  assert.equal(decodeBody(110, 3, 1, 0, 0, 1), -65536);
  // 2^64: 9 digits, the last one 1
  assert.equal(decodeBody(110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 2n ** 64n);
  // 2^53 - 1 is safe: a number even though it came as an 8-byte bignum
  assert.equal(decodeBody(110, 7, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f), Number.MAX_SAFE_INTEGER);
  // 2^53 is not: a bigint
  assert.equal(decodeBody(110, 7, 0, 0, 0, 0, 0, 0, 0, 0x20), 2n ** 53n);
  // LARGE_BIG_EXT | n=4 (32-bit) | sign=0 | digits
  assert.equal(decodeBody(111, 0, 0, 0, 4, 0, 1, 2, 3, 4), 0x04030201);
  // negative zero bignum is 0
  assert.ok(Object.is(decodeBody(110, 1, 1, 0), 0));
});

test('floats: non-integral to number, integral to Float, old FLOAT_EXT', () => {
  assert.equal(decodeBody(70, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18), Math.PI);
  const one = decodeBody(70, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);
  assert.ok(one instanceof Float);
  assert.equal(+(one as Float), 1);
  const text = Buffer.alloc(31);
  text.write('1.50000000000000000000e+00');
  assert.equal(decodeBody(99, ...text), 1.5);
});

test('atoms: all four tags, true/false as booleans, interned', () => {
  assert.equal(decodeBody(119, 2, 111, 107), atom('ok')); // SMALL_ATOM_UTF8_EXT "ok"
  assert.equal(decodeBody(118, 0, 2, 111, 107), atom('ok')); // ATOM_UTF8_EXT
  assert.equal(decodeBody(115, 1, 0xe9), atom('é')); // SMALL_ATOM_EXT, latin-1
  assert.equal(decodeBody(100, 0, 1, 0xe9), atom('é')); // ATOM_EXT, latin-1
  assert.equal(decodeBody(119, 2, 0xc3, 0xa9), atom('é').name === 'é' ? atom('é') : null); // UTF-8 é
  assert.equal(decodeBody(119, 4, 116, 114, 117, 101), true);
  assert.equal(decodeBody(119, 5, 102, 97, 108, 115, 101), false);
});

test('atoms: a recently seen atom reads the same through every tag, and its length is still checked', () => {
  // Seen once (and cached), then read again through each of the four tags.
  for (let round = 0; round < 2; round++) {
    assert.equal(decodeBody(119, 2, 111, 107), atom('ok'));
    assert.equal(decodeBody(115, 2, 111, 107), atom('ok'));
    assert.equal(decodeBody(118, 0, 2, 111, 107), atom('ok'));
    assert.equal(decodeBody(100, 0, 2, 111, 107), atom('ok'));
    assert.equal(decodeBody(100, 0, 4, 116, 114, 117, 101), true);
    assert.equal(decodeBody(115, 5, 102, 97, 108, 115, 101), false);
  }
  // A cached name whose bytes run past the end of the input is truncated input, even when
  // the memory behind the input's end holds the rest of the name.
  const memory = b(131, 100, 0, 2, 111, 107);
  for (const cut of [3, 4, 5]) {
    assert.throws(() => decode(memory.subarray(0, cut)), (e: unknown) => e instanceof DecodeError && /truncated/.test(e.message), `cut at ${cut}`);
  }
  assert.throws(() => decode(b(131, 119)), DecodeError);
  // Length 256 in ATOM_EXT: over OTP's limit even when a prefix is cached.
  assert.throws(() => decodeBody(100, 1, 0, ...Array(256).fill(97)), /256 characters/);
});

test('any Uint8Array decodes as a Buffer would, and its binaries are Buffers', () => {
  const bytes = b(131, 104, 2, 109, 0, 0, 0, 3, 1, 2, 3, 97, 7);
  const memory = new ArrayBuffer(bytes.length + 5);
  const offsetView = new Uint8Array(memory, 5, bytes.length);
  offsetView.set(bytes);
  class MyBuffer extends Uint8Array {}
  for (const input of [bytes, new Uint8Array(bytes), offsetView, new MyBuffer(bytes)]) {
    const t = decode(input) as Tuple;
    assert.ok(t instanceof Tuple);
    assert.ok(Buffer.isBuffer(t[0]), input.constructor.name);
    assert.deepEqual(t[0], Buffer.from([1, 2, 3]));
    assert.equal(t[1], 7);
  }
});

test('atoms: invalid UTF-8 and over-long names are refused', () => {
  assert.throws(() => decodeBody(119, 2, 0xc3, 0x28), DecodeError);
  const long = Array(256).fill(97);
  assert.throws(() => decodeBody(118, 1, 0, ...long), /256 characters/);
  // 255 two-byte characters (510 bytes) are fine: the limit counts characters
  const atom255 = decodeBody(118, 1, 254, ...Array(255).fill([0xc3, 0xa9]).flat());
  assert.equal((atom255 as ReturnType<typeof atom>).name.length, 255);
});

test('binaries: small ones are copies out of large inputs and views of small ones; large ones views', () => {
  // A small binary in an input whose memory is over 8 KiB: a copy, pinning nothing.
  const bigMemory = Buffer.alloc(64 * 1024);
  b(109, 0, 0, 0, 3, 1, 2, 3).copy(bigMemory);
  const small = decodeTerm(bigMemory, 0).term as Buffer;
  bigMemory.fill(0);
  assert.deepEqual([...small], [1, 2, 3], 'a small binary is a copy: changing the input leaves it alone');
  assert.equal(small.buffer.byteLength <= 8 * 1024, true, 'the copy does not hold the 64 KiB input');
  // The same in an input of 8 KiB of memory or less: a view of it (cheaper than a copy).
  const smallMemory = Buffer.alloc(8 * 1024);
  b(109, 0, 0, 0, 3, 1, 2, 3).copy(smallMemory);
  const view = decodeTerm(smallMemory, 0).term as Buffer;
  assert.ok(Buffer.isBuffer(view));
  assert.deepEqual(view, Buffer.from([1, 2, 3]), 'a view is a plain Buffer: deepStrictEqual to one');
  smallMemory[5] = 9;
  assert.equal(view[0], 9, 'a small binary of a small input is a view');
  const input = Buffer.concat([b(109, 0, 0, 1, 0), Buffer.alloc(256, 7)]);
  const large = decodeTerm(input, 0).term as Buffer;
  assert.equal(large.length, 256);
  input[5] = 9;
  assert.equal(large[0], 9, 'a large binary is a view of the input');
  const bits = decodeBody(77, 0, 0, 0, 1, 3, 0b1010_0000) as BitBinary;
  assert.ok(bits instanceof BitBinary);
  assert.equal(bits.bits, 3);
});

test('small binaries of a large input are separate copies, however many (across copy arenas)', () => {
  // 3000 binaries of 1..63 bytes, each filled with its own index: over 90 KiB of copies.
  const sizes = Array.from({ length: 3000 }, (_, i) => 1 + (i % 63));
  const body = sizes.flatMap((n, i) => [109, 0, 0, 0, n, ...Array(n).fill(i & 0xff)]);
  const input = b(131, 108, 0, 0, 3000 >> 8, 3000 & 0xff, ...body, 106);
  assert.ok(input.buffer.byteLength > 8 * 1024);
  const list = decode(input) as Buffer[];
  input.fill(0);
  list.forEach((bin, i) => {
    assert.ok(Buffer.isBuffer(bin));
    assert.equal(bin.length, sizes[i]);
    assert.ok(bin.every((byte) => byte === (i & 0xff)), `binary ${i} is its own copy`);
    assert.ok(bin.buffer.byteLength <= 8 * 1024, 'a copy pins at most 8 KiB');
  });
  list[0].fill(0xee);
  assert.ok(list[1].every((byte) => byte === 1), 'writing one copy leaves its neighbour alone');
});

test('tuples, lists, strings, improper lists, maps', () => {
  const t = decodeBody(104, 2, 97, 1, 106) as Tuple; // {1, []}
  assert.ok(t instanceof Tuple);
  assert.deepEqual([...t], [1, []]);
  assert.ok(decodeBody(105, 0, 0, 0, 0) instanceof Tuple); // LARGE_TUPLE_EXT {}
  assert.deepEqual(decodeBody(107, 0, 2, 104, 105), [104, 105]); // STRING_EXT "hi"
  assert.deepEqual(decodeBody(108, 0, 0, 0, 2, 97, 1, 97, 2, 106), [1, 2]); // LIST_EXT [1,2]
  const improper = decodeBody(108, 0, 0, 0, 1, 97, 1, 97, 2) as ImproperList; // [1|2]
  assert.ok(improper instanceof ImproperList);
  assert.deepEqual(improper.elements, [1]);
  assert.equal(improper.tail, 2);
  const m = decodeBody(116, 0, 0, 0, 1, 119, 1, 97, 97, 1) as Map<unknown, unknown>; // #{a => 1}
  assert.equal(m.get(atom('a')), 1);
  assert.throws(() => decodeBody(116, 0, 0, 0, 2, 119, 1, 97, 97, 1, 119, 1, 97, 97, 2), /duplicate key/);
});

test('pids, ports and references in every encoding', () => {
  const node = [119, 1, 110]; // 'n'
  const pid = decodeBody(88, ...node, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3) as Pid; // NEW_PID_EXT
  assert.ok(pid.equals(new Pid(atom('n'), 1, 2, 3)));
  assert.ok((decodeBody(103, ...node, 0, 0, 0, 1, 0, 0, 0, 2, 3) as Pid).equals(pid)); // PID_EXT, 8-bit creation
  const v4 = decodeBody(120, ...node, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9) as Port; // V4_PORT_EXT
  assert.ok(v4.equals(new Port(atom('n'), 1n << 32n, 9)));
  assert.ok((decodeBody(89, ...node, 0, 0, 0, 5, 0, 0, 0, 9) as Port).equals(new Port(atom('n'), 5n, 9)));
  assert.ok((decodeBody(102, ...node, 0, 0, 0, 5, 9) as Port).equals(new Port(atom('n'), 5n, 9)));
  // NEWER_REFERENCE_EXT | len=3 | node | creation | 3 words
  const ref = decodeBody(90, 0, 3, ...node, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3) as Reference;
  assert.ok(ref.equals(new Reference(atom('n'), 7, [1, 2, 3])));
  assert.ok((decodeBody(114, 0, 1, ...node, 7, 0, 0, 0, 1) as Reference).equals(new Reference(atom('n'), 7, [1])));
  assert.ok((decodeBody(101, ...node, 0, 0, 0, 1, 7) as Reference).equals(new Reference(atom('n'), 7, [1])));
  assert.throws(() => decodeBody(90, 0, 6, ...node, 0, 0, 0, 7), /6 id words/);
});

test('funs: EXPORT_EXT and NEW_FUN_EXT', () => {
  const f = decodeBody(113, 119, 1, 109, 119, 1, 102, 97, 2) as ExternalFun;
  assert.equal(f.module, atom('m'));
  assert.equal(f.function, atom('f'));
  assert.equal(f.arity, 2);
  const pid = [88, 119, 1, 110, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
  const body = [1, ...Array(16).fill(9), 0, 0, 0, 4, 0, 0, 0, 1, 119, 1, 109, 97, 0, 98, 0, 0, 0, 5, ...pid, 97, 42];
  const size = body.length + 4;
  const fun = decodeBody(112, 0, 0, 0, size, ...body) as Fun;
  assert.ok(fun instanceof Fun);
  assert.equal(fun.index, 4);
  assert.deepEqual(fun.freeVars, [42]);
});

test('whole encodings: version byte, compression, LOCAL_EXT, trailing bytes', () => {
  assert.equal(decode(b(131, 97, 5)), 5);
  assert.throws(() => decode(b(130, 97, 5)), /version byte 131/);
  assert.throws(() => decode(b(131, 97, 5, 0)), /1 trailing bytes/);
  const inner = b(107, 0, 3, 1, 2, 3);
  const compressed = Buffer.concat([b(131, 80, 0, 0, 0, inner.length), deflateSync(inner)]);
  assert.deepEqual(decode(compressed), [1, 2, 3]);
  assert.throws(() => decode(Buffer.concat([b(131, 80, 0, 0, 0, 99), deflateSync(inner)])), /header says 99/);
  assert.throws(() => decode(b(131, 80, 0xff, 0xff, 0xff, 0xff, 0)), /maxDecompressedSize/);
  const local = decode(b(131, 121, 1, 2, 3)) as LocalTerm;
  assert.deepEqual([...local.bytes], [1, 2, 3]);
});

test('untrusted lengths are checked before allocation', () => {
  // Each claims ~4 billion elements or bytes but holds none: a DecodeError, at once.
  for (const bytes of [
    [109, 0xff, 0xff, 0xff, 0xff],
    [108, 0xff, 0xff, 0xff, 0xff],
    [105, 0xff, 0xff, 0xff, 0xff],
    [116, 0xff, 0xff, 0xff, 0xff],
    [111, 0xff, 0xff, 0xff, 0xff, 0],
    [107, 0xff, 0xff],
  ]) {
    assert.throws(() => decodeTerm(b(...bytes), 0), (e: unknown) => e instanceof DecodeError && e.code === 'ERR_TERM_DECODE');
  }
});

test('truncated input and unknown tags', () => {
  const whole = [104, 2, 119, 2, 111, 107, 109, 0, 0, 0, 2, 1, 2];
  for (let cut = 0; cut < whole.length; cut++) {
    assert.throws(() => decodeTerm(b(...whole.slice(0, cut)), 0), DecodeError, `cut at ${cut}`);
  }
  assert.throws(() => decodeBody(200), /unknown tag 200/);
  assert.throws(() => decodeBody(82, 0), /atom cache reference 0/);
});

test('a million nested lists decode without overflowing the stack', () => {
  const depth = 1_000_000;
  // [[[...[]...]]]: LIST_EXT len=1, then the inner list, then NIL as tail, at every level.
  const head = b(108, 0, 0, 0, 1);
  const buf = Buffer.alloc(depth * 6 + 1);
  for (let i = 0; i < depth; i++) head.copy(buf, i * 5);
  buf.fill(106, depth * 5);
  let term = decodeTerm(buf, 0).term as unknown[];
  let levels = 0;
  while (Array.isArray(term) && term.length === 1 && levels <= depth) {
    term = term[0] as unknown[];
    levels++;
  }
  assert.equal(levels, depth);
  // Cut short, the same input is an error, not a crash.
  assert.throws(() => decodeTerm(buf.subarray(0, buf.length - 1), 0), DecodeError);
});

test('atom cache references resolve through the context', () => {
  const { term } = decodeTerm(b(104, 1, 82, 0), 0, { atomCache: [atom('cached')] });
  assert.deepEqual([...(term as Tuple)], [atom('cached')]);
});

test('the decode budget refuses a term with more terms than allowed, before building it', () => {
  // [[[]]] : LIST_EXT 1, LIST_EXT 1, NIL, NIL, NIL -- 5 terms (root, two elements, two tails).
  const nested = b(131, 108, 0, 0, 0, 1, 108, 0, 0, 0, 1, 106, 106, 106);
  assert.deepEqual(decode(nested, { maxTerms: 5 }), [[[]]]);
  assert.throws(() => decode(nested, { maxTerms: 4 }), (e: unknown) => e instanceof DecodeError && e.code === 'ERR_TERM_DECODE_BUDGET');
  // Every container form counts its elements: tuples, maps (keys and values), strings, funs' free variables.
  assert.throws(() => decode(b(131, 104, 3, 97, 1, 97, 2, 97, 3), { maxTerms: 3 }), /decode budget/);
  assert.deepEqual(decode(b(131, 104, 3, 97, 1, 97, 2, 97, 3), { maxTerms: 4 }), tuple(1, 2, 3));
  assert.throws(() => decode(b(131, 116, 0, 0, 0, 1, 97, 1, 97, 2), { maxTerms: 2 }), /decode budget/);
  assert.throws(() => decode(b(131, 107, 0, 3, 1, 2, 3), { maxTerms: 4 }), /decode budget/);
  // A context's budget is shared by the decodeTerm calls that pass it (a control message and its payload).
  const ctx = { termsLeft: 6 };
  const two = b(104, 2, 97, 1, 97, 2, 104, 2, 97, 1, 97, 2);
  const first = decodeTerm(two, 0, ctx);
  assert.equal(ctx.termsLeft, 3);
  assert.throws(() => decodeTerm(two, first.offset, { termsLeft: 2 }), /decode budget/);
  decodeTerm(two, first.offset, ctx);
  assert.equal(ctx.termsLeft, 0);
});

test('a deep list far over the budget is refused after at most the budget in terms', () => {
  // 3.2 million levels (16 MB): without a budget, decoding it needs ~600 MB of heap.
  const levels = 3_200_000;
  const bytes = Buffer.alloc(1 + levels * 5 + levels + 1);
  let p = 0;
  bytes[p++] = 131;
  for (let i = 0; i < levels; i++) {
    bytes[p++] = 108;
    bytes.writeUInt32BE(1, p);
    p += 4;
  }
  bytes.fill(106, p);
  assert.throws(() => decode(bytes, { maxTerms: 100_000 }), (e: unknown) => e instanceof DecodeError && e.code === 'ERR_TERM_DECODE_BUDGET');
});

test('without a budget, charging never throws, however many terms', async () => {
  const { Reader } = await import('../../src/term/reader.js');
  const r = new Reader(Buffer.alloc(1));
  for (let i = 0; i < 4; i++) r.charge(0x3fffffff);
  const limited = new Reader(Buffer.alloc(1));
  limited.limit(3);
  limited.charge(3);
  assert.throws(() => limited.charge(1), (e: unknown) => e instanceof DecodeError && e.code === 'ERR_TERM_DECODE_BUDGET');
});
