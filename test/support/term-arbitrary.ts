// fast-check generators of JavaScript terms covering every form the codec maps.
import fc from 'fast-check';
import { encode } from '../../src/term/encode.js';
import {
  BitBinary,
  ExternalFun,
  Float,
  Fun,
  ImproperList,
  Pid,
  Port,
  Reference,
  Tuple,
  atom,
  type Term,
} from '../../src/term/types.js';

const atomName = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('ok', 'error', 'nil', 'true', 'false', ''));
const nodeName = fc.constantFrom('a@127.0.0.1', 'nonode@nohost', 'app@fdaa:0:1::2', 'é@host');

export const arbAtom = atomName.map((n) => atom(n));
const arbInteger = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
);
const arbFloat = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((f) => !Number.isInteger(f)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((f) => Number.isInteger(f)).map((f) => new Float(f)),
);
const arbBinary = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 64, maxLength: 300 })).map((u) => Buffer.from(u));
const arbBits = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 7 })).map(([b, bits]) => new BitBinary(Buffer.from(b), bits));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const arbPid = fc.tuple(nodeName, u32, u32, u32).map(([n, id, s, c]) => new Pid(atom(n), id, s, c));
const arbPort = fc.tuple(nodeName, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), u32).map(([n, id, c]) => new Port(atom(n), id, c));
const arbRef = fc.tuple(nodeName, u32, fc.array(u32, { minLength: 1, maxLength: 5 })).map(([n, c, id]) => new Reference(atom(n), c, id));
const arbExport = fc.tuple(arbAtom, arbAtom, fc.integer({ min: 0, max: 255 })).map(([m, f, a]) => new ExternalFun(m, f, a));

export const arbScalar: fc.Arbitrary<Term> = fc.oneof(
  arbAtom, fc.boolean(), arbInteger, arbFloat, arbBinary, fc.string({ maxLength: 30 }), arbBits, arbPid, arbPort, arbRef, arbExport,
);

export const arbTerm: fc.Arbitrary<Term> = fc.letrec<{ term: Term }>((tie) => ({
  term: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbScalar,
    fc.array(tie('term'), { maxLength: 6 }).map((els) => Tuple.fromArray(els)),
    fc.array(tie('term'), { maxLength: 6 }),
    fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }),
    fc.tuple(fc.array(tie('term'), { minLength: 1, maxLength: 4 }), arbScalar).map(([els, tail]) => new ImproperList(els, tail)),
    // Keys must differ as Erlang terms, not just as JS objects (two equal Buffers are one key).
    fc.uniqueArray(fc.tuple(arbScalar, tie('term')), { maxLength: 5, selector: ([k]) => encode(k).toString('hex') }).map((pairs) => new Map(pairs)),
    fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), arbPid, fc.array(tie('term'), { maxLength: 3 }), arbAtom)
      .map(([uniq, pid, free, mod]) => new Fun(1, Buffer.from(uniq), 3, mod, 0, 12345, pid, free)),
  ),
})).term;
