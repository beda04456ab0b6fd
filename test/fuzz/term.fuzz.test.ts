// Property tests and bounded fuzzing of the codec: round-trips of generated terms,
// and mutated or truncated encodings that must give a term or a DecodeError, never
// anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode, decode, DecodeError } from '../../src/index.js';
import { arbTerm } from '../support/term-arbitrary.js';
import { termEqual } from '../support/term-equal.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

test('decode(encode(x)) is x for generated terms', () => {
  fc.assert(
    fc.property(arbTerm, (t) => termEqual(decode(encode(t)), t)),
    { numRuns: RUNS },
  );
});

test('compressed encodings round-trip too', () => {
  fc.assert(
    fc.property(arbTerm, fc.integer({ min: 0, max: 9 }), (t, level) => termEqual(decode(encode(t, { compressed: level })), t)),
    { numRuns: RUNS / 4 },
  );
});

test('encode(decode(bytes)) reproduces bytes that the codec itself wrote', () => {
  fc.assert(
    fc.property(arbTerm, (t) => {
      const once = encode(t);
      assert.deepEqual(encode(decode(once)), once);
    }),
    { numRuns: RUNS },
  );
});

function decodesOrRefuses(bytes: Buffer): void {
  try {
    decode(bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

test('mutated encodings decode or fail with DecodeError only', () => {
  fc.assert(
    fc.property(arbTerm, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (t, edits) => {
      const bytes = Buffer.from(encode(t));
      for (const [at, v] of edits) bytes[at % bytes.length] = v;
      decodesOrRefuses(bytes);
    }),
    { numRuns: RUNS },
  );
});

test('every truncation of an encoding fails with DecodeError', () => {
  fc.assert(
    fc.property(arbTerm, (t) => {
      const bytes = encode(t);
      for (let cut = 0; cut < Math.min(bytes.length, 200); cut++) {
        assert.throws(() => decode(bytes.subarray(0, cut)), DecodeError);
      }
    }),
    { numRuns: RUNS / 10 },
  );
});

test('random bytes after the version byte decode or fail with DecodeError only', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (u) => decodesOrRefuses(Buffer.concat([Buffer.from([131]), u]))),
    { numRuns: RUNS * 5 },
  );
});
