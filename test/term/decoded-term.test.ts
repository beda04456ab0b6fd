// DecodedTerm: what decode() can return, checked twice. At run time, every value the
// decoder builds from arbitrary encodable terms has one of DecodedTerm's shapes. At
// compile time (`npm run typecheck`, part of `npm test`), the assertions below hold:
// the functions are never called, they only have to type-check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Atom,
  atom,
  BitBinary,
  decode,
  encode,
  ExternalFun,
  Float,
  Fun,
  ImproperList,
  LocalTerm,
  Pid,
  Port,
  Reference,
  Tuple,
  isTuple,
  type DecodedTerm,
  type DecodeOptions,
  type Term,
} from '../../src/index.js';
import { arbTerm } from '../support/term-arbitrary.js';

/** Why `v` (found at `path`) is not a DecodedTerm, or undefined when it is one. */
function notDecoded(v: unknown, path: string): string | undefined {
  const deeper = (items: Iterable<unknown>, name: string): string | undefined => {
    let i = 0;
    for (const item of items) {
      const why = notDecoded(item, `${path}.${name}[${i++}]`);
      if (why !== undefined) return why;
    }
    return undefined;
  };
  if (typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v)) ? undefined : `${path}: number ${v}`;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? `${path}: bigint ${v} fits a number` : undefined;
  if (v instanceof Atom) return v.name === 'true' || v.name === 'false' ? `${path}: atom ${v.name} is not a boolean` : undefined;
  if (v instanceof Float) return Number.isInteger(v.value) ? undefined : `${path}: Float holding ${v.value}`;
  if (Buffer.isBuffer(v)) return undefined;
  if (v instanceof BitBinary || v instanceof Pid || v instanceof Port || v instanceof Reference || v instanceof ExternalFun) return undefined;
  if (v instanceof Fun) return deeper(v.freeVars, 'freeVars');
  if (Array.isArray(v)) return deeper(v, isTuple(v) ? 'tuple' : 'list');
  if (v instanceof ImproperList) {
    if (v.elements.length === 0) return `${path}: improper list with no elements`;
    if (Array.isArray(v.tail) && !isTuple(v.tail)) return `${path}: improper list with a list tail`;
    if (v.tail instanceof ImproperList) return `${path}: improper list with an improper tail`;
    return deeper([...v.elements, v.tail], 'improper');
  }
  if (v instanceof Map) return deeper([...v.keys(), ...v.values()], 'map');
  return `${path}: ${typeof v} ${Object.prototype.toString.call(v)} is not a DecodedTerm`;
}

test('every value decode() builds from any encodable term is a DecodedTerm', () => {
  fc.assert(
    fc.property(arbTerm, (t) => {
      const why = notDecoded(decode(encode(t)), 'term');
      assert.equal(why, undefined, why);
    }),
    { numRuns: 2000 },
  );
});

test('the forms that encode but never decode come back as their decoded forms', () => {
  // A string, a plain object, a Uint8Array, a safe bigint and the atom true: each is a
  // Term but not a DecodedTerm, and the decoded value is the DecodedTerm the mapping names.
  const decoded = decode(encode([ 'hé', { a: 1 }, new Uint8Array([1]), 5n, atom('true') ]));
  assert.equal(notDecoded(decoded, 'term'), undefined);
  assert.ok(Array.isArray(decoded));
  const [s, o, u, b, t] = decoded;
  assert.ok(Buffer.isBuffer(s) && s.toString() === 'hé');
  assert.ok(o instanceof Map && o.get(atom('a')) === 1);
  assert.ok(Buffer.isBuffer(u));
  assert.equal(b, 5);
  assert.equal(t, true);
  // And the checker itself refuses what DecodedTerm leaves out.
  for (const bad of ['x', { a: 1 }, new Uint8Array(1), 5n, atom('false'), null, undefined, new LocalTerm(new Uint8Array(1))]) {
    assert.notEqual(notDecoded([bad], 'term'), undefined, String(bad));
  }
});

// ---- compile-time checks (type-checked, never run) ----

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export function decodeReturnsDecodedTerm(bytes: Buffer, options: DecodeOptions): void {
  const exact: Equals<typeof plain, DecodedTerm | LocalTerm> = true;
  const plain = decode(bytes);
  const withOptions = decode(bytes, { maxTerms: 10, binaries: 'buffer' });
  const sameWithOptions: Equals<typeof withOptions, DecodedTerm | LocalTerm> = true;
  // Binaries as strings: the result may hold strings, so it is a Term.
  const strings = decode(bytes, { binaries: 'utf8-keys' });
  const stringsAreTerms: Equals<typeof strings, Term> = true;
  const unknownMode = decode(bytes, options);
  const unknownModeIsWide: Equals<typeof unknownMode, DecodedTerm | LocalTerm | Term> = true;
  void [exact, sameWithOptions, stringsAreTerms, unknownModeIsWide];
}

export function decodedTermsNarrowWithoutCasts(bytes: Buffer): void {
  const v = decode(bytes);
  // No string and no plain object: typeof 'string' leaves nothing.
  if (typeof v === 'string') {
    const nothing: never = v;
    void nothing;
  }
  if (v instanceof Tuple) {
    // The elements of a decoded tuple are decoded terms, not any Term.
    const first: DecodedTerm | undefined = v[0];
    if (first instanceof Tuple) {
      const inner: DecodedTerm | undefined = first[0];
      void inner;
    }
    if (Buffer.isBuffer(first)) first.readUInt8(0);
    if (isTuple(first)) {
      const alsoInner: DecodedTerm | undefined = first[1];
      void alsoInner;
    }
  }
  if (v instanceof Map) {
    for (const [k, value] of v) {
      const key: DecodedTerm = k;
      const val: DecodedTerm = value;
      void key;
      void val;
    }
  }
  if (v instanceof ImproperList) {
    const tail: DecodedTerm = v.tail;
    const elements: DecodedTerm[] = v.elements;
    void tail;
    void elements;
  }
  if (Array.isArray(v) && !(v instanceof Tuple)) {
    const list: DecodedTerm[] = v;
    void list;
  }
}

export function decodedTermsAreTerms(bytes: Buffer): void {
  // What was decoded can be sent back as it is.
  const v = decode(bytes);
  encode(v);
  if (!(v instanceof LocalTerm)) {
    const back: Term = v;
    void back;
  }
}

export function whatDecodeNeverReturns(): void {
  // @ts-expect-error a binary decodes to a Buffer, never a string
  const s: DecodedTerm = 'text';
  // @ts-expect-error a map decodes to a Map, never a plain object
  const o: DecodedTerm = { a: 1 };
  // @ts-expect-error a LocalTerm is only ever a whole encoding, never inside a term
  const nested: DecodedTerm = [new LocalTerm(new Uint8Array(0))];
  void s;
  void o;
  void nested;
}
