/**
 * term_to_binary: JavaScript terms to External Term Format bytes.
 * Spec: https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
 *
 * Iterative like the decoder: a work stack of terms still to write, so a deeply
 * nested value cannot overflow the call stack. Every container's size is known
 * before its elements are written, except a fun's, whose byte size is patched in
 * when its free variables are done.
 */
import { deflateSync } from 'node:zlib';
import { EncodeError, ErrorCode } from '../errors.js';
import { Tag, VERSION_MAGIC } from './tags.js';
import {
  Atom,
  BitBinary,
  ExternalFun,
  Float,
  Fun,
  ImproperList,
  LocalTerm,
  MAX_ATOM_CHARACTERS,
  Pid,
  Port,
  Reference,
  isTuple,
  type Term,
} from './types.js';
import { BufferFull, Writer } from './writer.js';

/** Options of `encode`. */
export interface EncodeOptions {
  /**
   * Compress with zlib like `term_to_binary(T, [compressed])`: `true` for level 6,
   * or a level 0-9. As on BEAM, the uncompressed form is returned when compression
   * does not make it smaller.
   */
  compressed?: boolean | number;
}

const shared = new Writer(64 * 1024);
const NO_OPTIONS: EncodeOptions = {};
/** Byte runs this long or longer are copied by TypedArray.set; shorter ones by a loop, which is faster for them. */
const NATIVE_COPY_FROM = 16;
const ATOM_TRUE = Atom.intern('true');
const ATOM_FALSE = Atom.intern('false');
/** Past this depth, containers are tracked to detect cycles (which would never end). */
const CYCLE_CHECK_DEPTH = 1000;

/**
 * Encodes `term` like `term_to_binary/1`, version byte 131 included. The result is
 * the caller's own Buffer: no later encode writes over it. A result of up to 4 KiB is
 * a view of a shared 16 KiB slab, as `Buffer.allocUnsafe` carves small Buffers from
 * Node's 8 KiB pool: it keeps that slab alive while it lives (copy it, `Buffer.from(r)`,
 * to keep it long on its own). One of 16 KiB or more may sit in a slightly larger
 * allocation (at most a third more) than its length: the encoder hands over the buffer
 * it wrote into rather than copying it when that buffer is at least three quarters full.
 * To encode with no allocation at all, use `encodeInto`.
 * @throws EncodeError (code ERR_TERM_ENCODE) for values with no Erlang form:
 * `null`, `undefined`, functions, symbols, non-finite numbers, cyclic structures,
 * atoms over 255 characters.
 */
export function encode(term: Term, options: EncodeOptions = NO_OPTIONS): Buffer {
  // A getter that encodes (slabBusy), or a run of large results: the scratch writer.
  if (slabBusy || lastSize > SLAB_MAX_RESULT) return encodeViaScratch(term, options);
  let start = slabPos;
  if (slab.length - start < 2 * lastSize + SLAB_MIN_ROOM) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabMemory = slab.buffer;
    slabPos = start = 0;
  }
  const w = slabWriter;
  w.buf = slab;
  w.pos = start;
  w.origin = start;
  slabBusy = true;
  try {
    writeWhole(w, term);
  } catch (err) {
    w.buf = slab; // not a buffer the failed term grew into
    throw err;
  } finally {
    slabBusy = false;
  }
  let plain: Buffer;
  if (w.buf === slab) {
    const end = w.pos;
    // A view, not allocUnsafe + copy: a third of a small message's encode. 8-aligned like Node's pool.
    plain = Buffer.from(slabMemory, start, end - start);
    slabPos = (end + 7) & ~7;
  } else {
    // The term outgrew the room left: the writer moved it to a buffer of its own (see Writer.grow).
    plain = w.takeFrom(w.origin);
    w.buf = slab;
  }
  lastSize = plain.length;
  if (options.compressed === undefined || options.compressed === false) return plain;
  const packed = compress(plain, options.compressed);
  if (packed !== plain && plain.buffer === slabMemory) slabPos = start; // the plain bytes are nobody's
  return packed;
}

/**
 * The slab: results of up to SLAB_MAX_RESULT bytes are written in place in it, each
 * then a view of its own bytes, so a small result costs no allocation but the view and
 * no copy. Where the next result goes is guessed from the last one's size: a fresh slab
 * when less than twice that is left, the scratch writer after a large one; a result
 * that outgrows the room left moves out (Writer.grow) and is copied or handed over as
 * from the scratch writer. Only ever written past slabPos, so no result is written over.
 */
// 16 KiB, not more: a small result kept for long keeps its whole slab alive, and at
// most twice Node's pool is what a user of Buffer.allocUnsafe already expects. A 64 KiB
// slab with results up to 8 KiB measured 0.60 against 0.50-0.53 of BEAM for a 2 KB
// Phoenix-like term, and the same within noise for smaller and larger ones.
const SLAB_SIZE = 16 * 1024;
const SLAB_MAX_RESULT = 4 * 1024;
const SLAB_MIN_ROOM = 256;
let slab = Buffer.alloc(0);
let slabMemory = slab.buffer;
let slabPos = 0;
let slabBusy = false;
/** The size of the last result: the guess for the next one. */
let lastSize = 0;
const slabWriter = new Writer(0);

/** encode through the shared scratch writer: the result is copied out of it, or handed over when large. */
function encodeViaScratch(term: Term, options: EncodeOptions): Buffer {
  const w = shared.pos === 0 ? shared : new Writer(); // re-entrant: a getter could call encode
  try {
    writeWhole(w, term);
    // A large result is handed over rather than copied when the writer's buffer is mostly full.
    const plain = w.takeFrom(0);
    lastSize = plain.length;
    return options.compressed === undefined || options.compressed === false ? plain : compress(plain, options.compressed);
  } finally {
    w.reset();
    if (w.buf.length > 1024 * 1024) w.buf = Buffer.allocUnsafe(64 * 1024); // don't pin a huge buffer
  }
}

/**
 * Encodes `term` like `encode` (version byte included, uncompressed) into `buffer` at
 * `offset`, and returns the number of bytes written. Nothing is allocated on success,
 * so a caller that reuses one buffer (a socket write buffer, a shared memory ring)
 * pays for no result buffer and no copy.
 * @throws EncodeError with code ERR_TERM_ENCODE_BUFFER_TOO_SMALL and `needed` (the
 * encoding's size in bytes) when the term does not fit in `buffer.length - offset`
 * bytes; the bytes of `buffer` from `offset` on are then unspecified.
 * @throws EncodeError (code ERR_TERM_ENCODE) for values with no Erlang form, as encode.
 */
export function encodeInto(term: Term, buffer: Uint8Array, offset = 0): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > buffer.length) {
    throw new RangeError(`encodeInto: offset ${offset} is not within the buffer (0 to ${buffer.length})`);
  }
  const buf = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  // One fixed writer serves every call; a nested call (a getter that encodes) gets its own.
  const w = intoBusy ? Writer.over(buf, offset) : intoWriter;
  if (w === intoWriter) {
    intoBusy = true;
    w.point(buf, offset);
  }
  try {
    writeWhole(w, term);
  } catch (err) {
    if (!(err instanceof BufferFull)) throw err;
    // The error path only: encode once more to say how much room it takes.
    const needed = encode(term).length;
    throw new EncodeError(`encodeInto: the term takes ${needed} bytes, ${buf.length - offset} available from offset ${offset}`, {
      code: ErrorCode.TERM_ENCODE_BUFFER_TOO_SMALL,
      needed,
    });
  } finally {
    if (w === intoWriter) {
      intoBusy = false;
      w.buf = EMPTY; // the caller's buffer is not ours to keep
    }
  }
  return w.pos - offset;
}

const EMPTY = Buffer.alloc(0);
const intoWriter = Writer.over(EMPTY, 0);
let intoBusy = false;

/** The version byte and the term. */
function writeWhole(w: Writer, term: Term): void {
  w.uint8(VERSION_MAGIC);
  if (term instanceof LocalTerm) {
    w.uint8(Tag.LOCAL_EXT);
    w.bytes(term.bytes);
  } else {
    writeTerm(w, term, 'term');
  }
}

function compress(plain: Buffer, level: true | number): Buffer {
  const lvl = level === true ? 6 : level;
  if (!Number.isInteger(lvl) || lvl < 0 || lvl > 9) throw new EncodeError(`compression level must be 0-9, got ${lvl}`);
  const body = plain.subarray(1);
  const packed = deflateSync(body, { level: lvl });
  if (packed.length + 5 >= body.length) return plain;
  const out = Buffer.allocUnsafe(6 + packed.length);
  out[0] = VERSION_MAGIC;
  out[1] = Tag.COMPRESSED;
  out.writeUInt32BE(body.length, 2);
  packed.copy(out, 6);
  return out;
}

/** Stack entries that are not terms: "fill in the fun size" and "leave a deep container". */
class PatchFunSize {
  constructor(readonly at: number) {}
}
class Leave {
  constructor(readonly container: object | undefined) {}
}
const LEAVE_SHALLOW = new Leave(undefined);
/** The `[]` that ends a proper list: not a container, so it needs no depth bookkeeping. */
const NIL_TAIL = Symbol('nil tail');

/** Past this depth the recursive fast path hands the rest to the iterative writer (which also catches cycles). */
const MAX_RECURSION = 256;

/**
 * Writes `term` (no version byte) at the writer's position. Used by the distribution
 * layer too. On an EncodeError the bytes written so far stay in `w` (the caller rolls
 * back), and the error is thrown again with its path from `root` (`payload.items[3].b`).
 */
export function writeTerm(w: Writer, term: Term, root = 'term'): void {
  try {
    writeFast(w, term, 0);
  } catch (err) {
    if (err instanceof EncodeError && err.path === undefined) throw locateEncodeError(err, term, root);
    throw err;
  }
}

/**
 * Finds where in `term` the value that made `err` is, by walking it again; the encode
 * hot path keeps no trail, so a failure costs this second walk and success costs
 * nothing. Iterative, with the same rules as the writers, and it catches cycles at
 * their first repeat.
 */
function locateEncodeError(err: EncodeError, term: unknown, root: string): EncodeError {
  const scratch = new Writer(64);
  // Containers on the path from the root to the value in hand: one seen again is a cycle.
  const onPath = new Set<object>();
  const stack: Array<{ value: unknown; path: string } | Leave> = [{ value: term, path: root }];
  const fail = (message: string, path: string) => new EncodeError(message, { path: shortPath(path, root), cause: err });
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string } | Leave;
    if (item instanceof Leave) {
      onPath.delete(item.container as object);
      continue;
    }
    const { value, path } = item;
    let scalar: boolean;
    try {
      scratch.reset();
      scalar = writeScalar(scratch, value);
    } catch (e) {
      if (e instanceof EncodeError) return fail(e.message, path);
      throw e;
    }
    if (scalar) continue;
    const t = value as object;
    if (onPath.has(t)) return fail('cyclic structure has no Erlang term form', path);
    const children: Array<{ value: unknown; path: string }> = [];
    if (Array.isArray(t)) {
      for (let i = 0; i < t.length; i++) children.push({ value: t[i], path: `${path}[${i}]` });
    } else if (t instanceof Map) {
      let i = 0;
      for (const [k, v] of t) {
        const key = describeKey(k);
        children.push({ value: k, path: `${path}{key ${key ?? `#${i}`}}` });
        children.push({ value: v, path: key === undefined ? `${path}{value #${i}}` : `${path}.${key}` });
        i++;
      }
    } else if (t instanceof ImproperList) {
      for (let i = 0; i < t.elements.length; i++) children.push({ value: t.elements[i], path: `${path}[${i}]` });
      children.push({ value: t.tail, path: `${path}.tail` });
    } else if (t instanceof Fun) {
      try {
        scratch.reset();
        writeFunHead(scratch, t, []);
      } catch (e) {
        if (e instanceof EncodeError) return fail(e.message, path);
        throw e;
      }
      children.push({ value: t.pid, path: `${path}.pid` });
      for (let i = 0; i < t.freeVars.length; i++) children.push({ value: t.freeVars[i], path: `${path}.freeVars[${i}]` });
    } else if (isPlainObject(t)) {
      for (const k of Object.keys(t)) {
        children.push({ value: Atom.intern(k), path: `${path}{key ${JSON.stringify(k)}}` });
        children.push({ value: (t as Record<string, unknown>)[k], path: `${path}.${k}` });
      }
    } else {
      return fail(`${t.constructor?.name ?? 'object'} has no Erlang term form`, path);
    }
    onPath.add(t);
    stack.push(new Leave(t));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  // Nothing to blame in the value (a getter that threw once, say): the error as it was, at the root.
  return new EncodeError(err.message, { path: root, cause: err });
}

/** Paths deeper than a screen keep their root and their last 200 characters. */
function shortPath(path: string, root: string): string {
  return path.length <= 256 ? path : `${root}…${path.slice(-200)}`;
}

/** A map key as a path segment: atoms and strings by name, numbers as digits; undefined for others. */
function describeKey(k: unknown): string | undefined {
  if (k instanceof Atom) return k.name;
  if (typeof k === 'string') return JSON.stringify(k);
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
  return undefined;
}

/**
 * The recursive fast path for the common shapes (atoms, numbers, binaries, tuples,
 * lists, maps); anything else, or anything deeper than MAX_RECURSION, goes to the
 * iterative writer.
 */
function writeFast(w: Writer, t: Term, depth: number): void {
  // The common forms first, each with one test: a chain of instanceof tests per value
  // (writeScalar's order) cost a third of encoding a map of binaries.
  switch (typeof t) {
    case 'number':
      writeNumber(w, t);
      return;
    case 'string':
      writeString(w, t);
      return;
    case 'boolean':
      writeAtom(w, t ? ATOM_TRUE : ATOM_FALSE);
      return;
    case 'object':
      // Array.isArray and ArrayBuffer.isView compile to a type check of the object itself;
      // an instanceof that fails walks the whole prototype chain (`t instanceof Atom` on
      // a Buffer was a quarter of encoding a map of binaries), so those come first.
      if (Array.isArray(t)) {
        if (depth >= MAX_RECURSION) break;
        writeArray(w, t, depth);
        return;
      }
      if (ArrayBuffer.isView(t)) {
        if (!(t instanceof Uint8Array)) break; // other typed arrays and DataViews: refused by writeScalar
        writeBinary(w, t);
        return;
      }
      if (t instanceof Atom) {
        writeAtom(w, t);
        return;
      }
      if (t instanceof Map) {
        if (depth >= MAX_RECURSION) break;
        writeMap(w, t, depth);
        return;
      }
      break;
  }
  // Every other form, and anything deeper than MAX_RECURSION.
  if (!writeScalar(w, t)) writeIterative(w, t);
}

function writeArray(w: Writer, t: Term[], depth: number): void {
  const n = t.length;
  if (isTuple(t)) {
    writeTupleHeader(w, n);
    for (let i = 0; i < n; i++) writeFast(w, t[i], depth + 1);
    return;
  }
  if (n === 0 || (n <= 0xffff && isByteList(t))) {
    writeList(w, t, []);
    return;
  }
  w.tagUint32(Tag.LIST_EXT, n);
  for (let i = 0; i < n; i++) {
    const v = t[i];
    // Lists of integers are common: 32-bit ones go straight to writeNumber, past the general dispatch.
    if (typeof v === 'number' && (v | 0) === v) {
      writeNumber(w, v);
    } else {
      writeFast(w, v, depth + 1);
    }
  }
  w.uint8(Tag.NIL_EXT);
}

function writeMap(w: Writer, t: Map<Term, Term>, depth: number): void {
  w.tagUint32(Tag.MAP_EXT, t.size);
  // forEach with one callback and `this`, rather than a closure per map: no allocation, and
  // iterating a Map by for-of is slower still. Saved and restored: a value's getter may encode.
  const outerWriter = entryContext.w;
  const outerDepth = entryContext.depth;
  entryContext.w = w;
  entryContext.depth = depth + 1;
  try {
    t.forEach(writeEntry, entryContext);
  } finally {
    entryContext.w = outerWriter;
    entryContext.depth = outerDepth;
  }
}

/** What writeEntry writes with: the writer, and the depth of the map's keys and values. */
const entryContext = { w: shared, depth: 0 };

function writeEntry(this: typeof entryContext, v: Term, k: Term): void {
  const w = this.w;
  // Keys are nearly always atoms (records, structs) or binaries (JSON-like maps): write
  // those without the general dispatch.
  if (ArrayBuffer.isView(k) && k instanceof Uint8Array) writeBinary(w, k);
  else if (k instanceof Atom) writeAtom(w, k);
  else writeFast(w, k, this.depth);
  writeFast(w, v, this.depth);
}

/** The iterative writer: any depth, detects cycles, handles every term form. */
function writeIterative(w: Writer, term: unknown): void {
  const stack: unknown[] = [term];
  let depth = 0;
  let deep: Set<object> | undefined;
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === NIL_TAIL) {
      w.uint8(Tag.NIL_EXT);
      continue;
    }
    if (item instanceof Leave) {
      depth--;
      if (item.container !== undefined) deep?.delete(item.container);
      continue;
    }
    if (item instanceof PatchFunSize) {
      w.patchUint32(item.at, w.pos - w.origin - item.at);
      continue;
    }
    if (writeScalar(w, item)) continue;
    // What writeScalar leaves is an object: a container, or something with no Erlang form.
    const t = item as object;

    // Containers: write the header, then push the elements in reverse so they pop in order.
    if (++depth > CYCLE_CHECK_DEPTH) {
      deep ??= new Set();
      if (deep.has(t)) throw new EncodeError('cyclic structure has no Erlang term form');
      deep.add(t);
      stack.push(new Leave(t));
    } else {
      stack.push(LEAVE_SHALLOW);
    }
    if (isTuple(t)) {
      writeTupleHeader(w, t.length);
      for (let i = t.length - 1; i >= 0; i--) stack.push(t[i]);
    } else if (Array.isArray(t)) {
      writeList(w, t, stack);
    } else if (t instanceof Map) {
      w.tagUint32(Tag.MAP_EXT, t.size);
      const pairs = [...t];
      for (let i = pairs.length - 1; i >= 0; i--) stack.push(pairs[i][1], pairs[i][0]);
    } else if (t instanceof ImproperList) {
      if (t.elements.length === 0) {
        stack.push(t.tail);
        continue;
      }
      w.tagUint32(Tag.LIST_EXT, t.elements.length);
      stack.push(t.tail);
      for (let i = t.elements.length - 1; i >= 0; i--) stack.push(t.elements[i]);
    } else if (t instanceof Fun) {
      writeFunHead(w, t, stack);
    } else if (isPlainObject(t)) {
      const keys = Object.keys(t);
      w.tagUint32(Tag.MAP_EXT, keys.length);
      for (let i = keys.length - 1; i >= 0; i--) stack.push((t as Record<string, Term>)[keys[i]], Atom.intern(keys[i]));
    } else {
      throw new EncodeError(`${(t as object).constructor?.name ?? 'object'} has no Erlang term form`);
    }
  }
}

/**
 * Writes `t` if it is not a container (every form but tuples, lists, maps, funs and
 * plain objects) and returns true; returns false for containers, checking the common
 * ones first so they skip the class tests.
 * @throws EncodeError for values with no Erlang form.
 */
function writeScalar(w: Writer, t: unknown): boolean {
  switch (typeof t) {
    case 'number':
      writeNumber(w, t);
      return true;
    case 'string':
      writeString(w, t);
      return true;
    case 'boolean':
      writeAtom(w, t ? ATOM_TRUE : ATOM_FALSE);
      return true;
    case 'bigint':
      writeBigInt(w, t);
      return true;
    case 'object':
      break;
    default:
      throw new EncodeError(`${typeof t} has no Erlang term form`);
  }
  if (t === null) throw new EncodeError('null has no Erlang term form (use atom("nil") or atom("undefined"))');
  if (t instanceof Atom) {
    writeAtom(w, t);
    return true;
  }
  if (Array.isArray(t) || t instanceof Map) return false;
  if (t instanceof Uint8Array) {
    writeBinary(w, t);
    return true;
  }
  if (t instanceof Float) {
    writeFloat(w, t.value);
    return true;
  }
  if (t instanceof Pid) {
    w.uint8(Tag.NEW_PID_EXT);
    writeAtom(w, t.node);
    w.uint32(t.id);
    w.uint32(t.serial);
    w.uint32(t.creation);
    return true;
  }
  if (t instanceof Reference) {
    w.uint8(Tag.NEWER_REFERENCE_EXT);
    w.uint16(t.id.length);
    writeAtom(w, t.node);
    w.uint32(t.creation);
    for (const word of t.id) w.uint32(word);
    return true;
  }
  if (t instanceof Port) {
    // OTP 26+ needs V4_PORT_EXT only for ids beyond 32 bits; NEW_PORT_EXT keeps OTP 25 happy.
    const wide = t.id > 0xffffffffn;
    w.uint8(wide ? Tag.V4_PORT_EXT : Tag.NEW_PORT_EXT);
    writeAtom(w, t.node);
    if (wide) w.uint64(t.id);
    else w.uint32(Number(t.id));
    w.uint32(t.creation);
    return true;
  }
  if (t instanceof BitBinary) {
    writeBitBinary(w, t);
    return true;
  }
  if (t instanceof ExternalFun) {
    w.uint8(Tag.EXPORT_EXT);
    writeAtom(w, t.module);
    writeAtom(w, t.function);
    w.uint8(Tag.SMALL_INTEGER_EXT);
    w.uint8(t.arity);
    return true;
  }
  if (t instanceof LocalTerm) throw new EncodeError('a LocalTerm can only be encoded whole, not inside another term');
  return false;
}

function writeTupleHeader(w: Writer, arity: number): void {
  if (arity < 256) {
    w.ensure(2);
    w.buf[w.pos++] = Tag.SMALL_TUPLE_EXT;
    w.buf[w.pos++] = arity;
  } else {
    w.tagUint32(Tag.LARGE_TUPLE_EXT, arity);
  }
}

function writeBinary(w: Writer, b: Uint8Array): void {
  const n = b.length;
  w.ensure(5 + n);
  w.tagUint32(Tag.BINARY_EXT, n);
  const buf = w.buf;
  const at = w.pos;
  // A loop beats the native call for the short binaries maps are full of.
  if (n < NATIVE_COPY_FROM) for (let i = 0; i < n; i++) buf[at + i] = b[i];
  else buf.set(b, at);
  w.pos = at + n;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function writeList(w: Writer, list: Term[], stack: unknown[]): void {
  const n = list.length;
  if (n === 0) {
    w.uint8(Tag.NIL_EXT);
    return;
  }
  // Lists of bytes go as STRING_EXT, as BEAM sends them.
  if (n <= 0xffff && isByteList(list)) {
    w.uint8(Tag.STRING_EXT);
    w.uint16(n);
    w.ensure(n);
    for (let i = 0; i < n; i++) w.buf[w.pos + i] = Number(list[i]);
    w.pos += n;
    return;
  }
  w.tagUint32(Tag.LIST_EXT, n);
  stack.push(NIL_TAIL);
  for (let i = n - 1; i >= 0; i--) stack.push(list[i]);
}

// A bigint byte counts too: 7n and 7 are one Erlang integer, and BEAM packs [7] as a string.
function isByteList(list: Term[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v === 'number') {
      if (!(v >= 0 && v <= 255 && (v | 0) === v)) return false;
    } else if (typeof v !== 'bigint' || v < 0n || v > 255n) {
      return false;
    }
  }
  return true;
}

function writeFunHead(w: Writer, f: Fun, stack: unknown[]): void {
  w.uint8(Tag.NEW_FUN_EXT);
  const sizeAt = w.skip(4);
  w.uint8(f.arity);
  if (f.uniq.length !== 16) throw new EncodeError('fun uniq must be 16 bytes');
  w.bytes(f.uniq);
  w.uint32(f.index);
  w.uint32(f.freeVars.length);
  writeAtom(w, f.module);
  writeNumber(w, f.oldIndex);
  writeNumber(w, f.oldUniq);
  stack.push(new PatchFunSize(sizeAt));
  for (let i = f.freeVars.length - 1; i >= 0; i--) stack.push(f.freeVars[i]);
  stack.push(f.pid);
}

/** Writes an atom as SMALL_ATOM_UTF8_EXT or ATOM_UTF8_EXT, the forms OTP 26+ use. */
export function writeAtom(w: Writer, a: Atom): void {
  // The whole encoding (tag, length, name) is kept on the atom, as words: an atom is a few stores.
  const words = a.encoded ?? encodeAtom(a);
  w.words(words, 1, words[0]);
}

/** An atom's encoding as `Atom.encoded` keeps it: its byte length, then its bytes as big-endian 32-bit words. */
function encodeAtom(a: Atom): number[] {
  const name = Buffer.from(a.name, 'utf8');
  let chars = 0;
  for (const _ of a.name) chars++;
  if (chars > MAX_ATOM_CHARACTERS) throw new EncodeError(`atom of ${chars} characters exceeds ${MAX_ATOM_CHARACTERS}`);
  const bytes = name.length < 256
    ? Buffer.concat([Buffer.from([Tag.SMALL_ATOM_UTF8_EXT, name.length]), name])
    : Buffer.concat([Buffer.from([Tag.ATOM_UTF8_EXT, name.length >> 8, name.length & 0xff]), name]);
  const words = [bytes.length];
  for (let i = 0; i < bytes.length; i += 4) {
    words.push(((bytes[i] << 24) | ((bytes[i + 1] ?? 0) << 16) | ((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0)) | 0);
  }
  a.encoded = words;
  return words;
}

/** A JS string as a UTF-8 binary; short ASCII strings are copied by hand, which beats the native call. */
function writeString(w: Writer, s: string): void {
  const n = s.length;
  if (n <= 64) {
    w.ensure(5 + n);
    const buf = w.buf;
    const at = w.pos + 5;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    if (i === n) {
      buf[w.pos] = Tag.BINARY_EXT;
      buf.writeUInt32BE(n, w.pos + 1);
      w.pos = at + n;
      return;
    }
  }
  w.uint8(Tag.BINARY_EXT);
  const lenAt = w.skip(4);
  w.patchUint32(lenAt, w.utf8(s));
}

function writeNumber(w: Writer, n: number): void {
  if (!Number.isInteger(n)) {
    writeFloat(w, n);
  } else if (n >= 0 && n <= 255) {
    w.ensure(2);
    w.buf[w.pos++] = Tag.SMALL_INTEGER_EXT;
    w.buf[w.pos++] = n;
  } else if (n >= -0x80000000 && n <= 0x7fffffff) {
    w.tagUint32(Tag.INTEGER_EXT, n);
  } else if (Number.isSafeInteger(n)) {
    // At most 7 bytes of magnitude: arithmetic is exact below 2^53.
    let m = Math.abs(n);
    w.uint8(Tag.SMALL_BIG_EXT);
    const lenAt = w.skip(1);
    w.uint8(n < 0 ? 1 : 0);
    let len = 0;
    while (m > 0) {
      w.uint8(m % 256);
      m = Math.floor(m / 256);
      len++;
    }
    w.buf[w.origin + lenAt] = len;
  } else {
    // An integral double beyond 2^53 (1e300): exact as a bigint.
    writeBigInt(w, BigInt(n));
  }
}

function writeFloat(w: Writer, f: number): void {
  if (!Number.isFinite(f)) throw new EncodeError(`${f} has no Erlang term form (floats are finite)`);
  w.uint8(Tag.NEW_FLOAT_EXT);
  w.float64(f);
}

function writeBigInt(w: Writer, n: bigint): void {
  if (n >= -0x80000000n && n <= 0x7fffffffn) {
    writeNumber(w, Number(n));
    return;
  }
  const negative = n < 0n;
  let hex = (negative ? -n : n).toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  const len = hex.length / 2;
  if (len < 256) {
    w.uint8(Tag.SMALL_BIG_EXT);
    w.uint8(len);
  } else {
    w.tagUint32(Tag.LARGE_BIG_EXT, len);
  }
  w.uint8(negative ? 1 : 0);
  w.ensure(len);
  // Little-endian: the last hex pair is the least significant byte.
  for (let i = 0; i < len; i++) {
    const j = hex.length - 2 * (i + 1);
    w.buf[w.pos + i] = Number.parseInt(hex.slice(j, j + 2), 16);
  }
  w.pos += len;
}

function writeBitBinary(w: Writer, b: BitBinary): void {
  if (!Number.isInteger(b.bits) || b.bits < 1 || b.bits > 8) throw new EncodeError(`BitBinary bits must be 1-8, got ${b.bits}`);
  // Whole bytes are a plain binary on BEAM, so encode them as one.
  if (b.bits === 8 || b.bytes.length === 0) {
    w.tagUint32(Tag.BINARY_EXT, b.bytes.length);
    w.bytes(b.bytes);
    return;
  }
  w.tagUint32(Tag.BIT_BINARY_EXT, b.bytes.length);
  w.uint8(b.bits);
  w.ensure(b.bytes.length);
  w.buf.set(b.bytes, w.pos);
  // BEAM keeps the unused low bits of the last byte zero; so must we for =:= to hold.
  w.buf[w.pos + b.bytes.length - 1] &= (0xff << (8 - b.bits)) & 0xff;
  w.pos += b.bytes.length;
}
