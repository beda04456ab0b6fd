// Erlang's =:= on JavaScript terms, for tests: exact equality of the terms they stand for.
import {
  Atom,
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
  atom,
  type Term,
} from '../../src/term/types.js';

/** A normal form: plain objects become Maps with atom keys, strings become bytes, booleans atoms. */
function normal(t: unknown): unknown {
  if (typeof t === 'string') return Buffer.from(t, 'utf8');
  if (typeof t === 'boolean') return atom(String(t));
  if (typeof t === 'bigint' && t >= BigInt(Number.MIN_SAFE_INTEGER) && t <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(t);
  if (typeof t === 'number' && !Number.isInteger(t)) return new Float(t);
  if (t instanceof BitBinary && (t.bits === 8 || t.bytes.length === 0)) return t.bytes;
  if (t instanceof ImproperList && t.elements.length === 0) return normal(t.tail);
  if (t !== null && typeof t === 'object' && Object.getPrototypeOf(t) === Object.prototype) {
    return new Map(Object.entries(t as Record<string, Term>).map(([k, v]) => [atom(k), v]));
  }
  return t;
}

export function termEqual(x: unknown, y: unknown): boolean {
  const a = normal(x);
  const b = normal(y);
  if (a === b) return true;
  if (typeof a === 'number' || typeof a === 'bigint') return a === b;
  if (a instanceof Float) return b instanceof Float && Object.is(a.value, b.value);
  if (a instanceof Atom) return false;
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  if (a instanceof BitBinary) {
    if (!(b instanceof BitBinary) || a.bits !== b.bits || a.bytes.length !== b.bytes.length) return false;
    const n = a.bytes.length;
    const mask = (0xff << (8 - a.bits)) & 0xff;
    return Buffer.compare(a.bytes.subarray(0, n - 1), b.bytes.subarray(0, n - 1)) === 0 && (a.bytes[n - 1] & mask) === (b.bytes[n - 1] & mask);
  }
  if (a instanceof Pid || a instanceof Port || a instanceof Reference) return a.equals(b);
  if (a instanceof ExternalFun) return b instanceof ExternalFun && a.module === b.module && a.function === b.function && a.arity === b.arity;
  if (a instanceof Fun) {
    return b instanceof Fun && a.arity === b.arity && Buffer.compare(a.uniq, b.uniq) === 0 && a.index === b.index && a.module === b.module &&
      a.oldIndex === b.oldIndex && a.oldUniq === b.oldUniq && a.pid.equals(b.pid) && listEqual(a.freeVars, b.freeVars);
  }
  if (a instanceof LocalTerm) return b instanceof LocalTerm && Buffer.compare(a.bytes, b.bytes) === 0;
  if (a instanceof Tuple) return b instanceof Tuple && listEqual(a, b);
  if (Array.isArray(a)) return Array.isArray(b) && !(b instanceof Tuple) && listEqual(a, b);
  if (a instanceof ImproperList) return b instanceof ImproperList && listEqual(a.elements, b.elements) && termEqual(a.tail, b.tail);
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    // Keys may be non-primitive (binaries, tuples): match each pair by =:=.
    const rest = [...b];
    for (const [k, v] of a) {
      const i = rest.findIndex(([k2]) => termEqual(k, k2));
      if (i < 0 || !termEqual(v, rest[i][1])) return false;
      rest.splice(i, 1);
    }
    return true;
  }
  return false;
}

function listEqual(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!termEqual(a[i], b[i])) return false;
  return true;
}
