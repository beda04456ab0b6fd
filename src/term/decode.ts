/**
 * binary_to_term: External Term Format bytes to JavaScript terms.
 * Spec: https://www.erlang.org/doc/apps/erts/erl_ext_dist.html
 *
 * The decoder is iterative (an explicit stack of open containers), so no input,
 * however deeply nested, can overflow the JavaScript call stack. It returns the
 * offset where it stopped, so the distribution layer can decode a control message
 * and its payload from one frame.
 */
import { inflateSync } from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { DecodeError, InvalidOptionError } from '../errors.js';
import { BinariesMode, Reader, int32At, uint32At } from './reader.js';
import { isAscii, recentAtom, recentString, rememberAtom, rememberString, RECENT_STRING_MAX } from './recent-names.js';
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
  Tuple,
  brandTuple,
  type DecodedImproperList,
  type DecodedTerm,
  type Term,
} from './types.js';

/** Options of `decode`. */
export interface DecodeOptions {
  /**
   * Largest uncompressed size accepted for a compressed term (tag 80), in bytes.
   * Default 256 MiB. The size is checked before anything is inflated.
   */
  maxDecompressedSize?: number;
  /**
   * Most terms the encoding may hold (see DecodeContext.termsLeft for what counts).
   * Default: no limit. Over it, decode throws DecodeError with code ERR_TERM_DECODE_BUDGET.
   */
  maxTerms?: number;
  /**
   * How binaries come back. `'buffer'` (the default) is lossless and typed: every binary
   * is a Buffer. `'utf8'`: a binary whose bytes are valid UTF-8 is a string, any other
   * binary a Buffer. `'utf8-keys'`: the same for map keys only (Phoenix and Elixir JSON
   * maps have binary keys), values stay Buffers. Strings encode back to the same UTF-8
   * bytes, so `encode(decode(b, { binaries: 'utf8' }))` is still `b`; what is lost is
   * only the type distinction (a string and a binary are the same Erlang term).
   */
  binaries?: 'buffer' | 'utf8' | 'utf8-keys';
}

/** What the decoder needs beyond the bytes: the distribution layer's atom cache. */
export interface DecodeContext {
  /** Atoms of the current distribution header, indexed by ATOM_CACHE_REF. */
  atomCache?: readonly Atom[];
  /**
   * The decode budget: how many more terms may be decoded with this context, shared by
   * every decodeTerm call that passes it (a control message and its payload) and
   * decreased by each. The root term counts one, and every element of a tuple, list
   * (its tail included), map (keys and values) or fun's free variables one more,
   * charged when the container opens, so a term over budget is refused before it is
   * built. Decoding costs up to ~150 bytes of heap per term (deeply nested lists), far
   * more than the input's bytes; this is what bounds it. Undefined: no limit.
   */
  termsLeft?: number;
  /**
   * How binaries come back, as DecodeOptions.binaries (default `'buffer'`). The
   * distribution layer sets it per message, for the process the payload goes to.
   */
  binaries?: DecodeOptions['binaries'];
}

const DEFAULT_MAX_DECOMPRESSED = 256 * 1024 * 1024;
const MAX_SAFE_BIG_BYTES = 6; // 48 bits: always a safe integer

/**
 * Decodes a whole `term_to_binary` encoding (starting with the version byte 131).
 * Binaries of 64 bytes or more are views into `bytes`, as BEAM's sub-binaries are, and
 * so are smaller ones when `bytes` lives in at most 8 KiB of memory (its ArrayBuffer:
 * a kept view then pins no more than a pooled Buffer does); in larger inputs small
 * binaries are copies, so they never pin a big buffer. Copy a binary (`Buffer.from(b)`)
 * if you keep it and then overwrite `bytes`.
 * @throws DecodeError (code ERR_TERM_DECODE) for truncated, malformed or trailing bytes.
 */
export function decode(bytes: Uint8Array, options?: DecodeOptions & { binaries?: 'buffer' }): DecodedTerm | LocalTerm;
/**
 * With `binaries: 'utf8'` or `'utf8-keys'`, binaries that are valid UTF-8 (all of them,
 * or map keys only) are strings, so the result is a `Term` rather than a `DecodedTerm`.
 */
export function decode(bytes: Uint8Array, options: DecodeOptions & { binaries: 'utf8' | 'utf8-keys' }): Term;
export function decode(bytes: Uint8Array, options: DecodeOptions): DecodedTerm | LocalTerm | Term;
export function decode(bytes: Uint8Array, options: DecodeOptions = NO_OPTIONS): DecodedTerm | LocalTerm {
  const buf = toBuffer(bytes);
  const r = new Reader(buf);
  r.binaries = binariesMode(options.binaries);
  if (r.uint8() !== VERSION_MAGIC) r.fail('not an external term: version byte 131 missing', undefined, 0);
  r.need(1);
  const tag = buf[r.pos];
  if (tag === Tag.COMPRESSED) return decodeCompressed(r, options);
  if (tag === Tag.LOCAL_EXT) {
    r.pos++;
    return new LocalTerm(r.copy(r.end - r.pos));
  }
  if (options.maxTerms !== undefined) {
    r.limit(options.maxTerms);
    r.charge(1); // the root
  }
  const term = readTerm(r, EMPTY_CONTEXT);
  if (r.pos !== r.end) r.fail(`${r.end - r.pos} trailing bytes after the term`);
  return term;
}

/**
 * Decodes one term without a version byte at `offset` (as in distribution messages
 * that follow a distribution header) and returns it with the offset after it.
 */
export function decodeTerm(buf: Buffer, offset: number, context?: DecodeContext & { binaries?: 'buffer' }): { term: DecodedTerm; offset: number };
/** With `binaries: 'utf8'` or `'utf8-keys'` in the context, as decode's option: strings may come back. */
export function decodeTerm(buf: Buffer, offset: number, context: DecodeContext): { term: Term; offset: number };
export function decodeTerm(buf: Buffer, offset: number, context: DecodeContext = EMPTY_CONTEXT): { term: DecodedTerm; offset: number } {
  const r = new Reader(buf, offset);
  if (context.binaries !== undefined) r.binaries = binariesMode(context.binaries);
  if (context.termsLeft !== undefined) {
    r.limit(context.termsLeft);
    r.charge(1); // the root
    const term = readTerm(r, context);
    context.termsLeft = r.termsLeft;
    return { term, offset: r.pos };
  }
  const term = readTerm(r, context);
  return { term, offset: r.pos };
}

const EMPTY_CONTEXT: DecodeContext = {};
const NO_OPTIONS: DecodeOptions = {};

function binariesMode(option: DecodeOptions['binaries']): BinariesMode {
  switch (option) {
    case undefined:
    case 'buffer':
      return BinariesMode.Buffers;
    case 'utf8':
      return BinariesMode.Strings;
    case 'utf8-keys':
      return BinariesMode.KeyStrings;
    default:
      throw new InvalidOptionError('binaries', "'buffer', 'utf8' or 'utf8-keys'", option);
  }
}

/**
 * `bytes` as a Buffer: itself when it is one (any object whose prototype chain holds
 * Buffer.prototype, as for Buffer.isBuffer), else a view of its memory. V8 folds
 * `isPrototypeOf` against a constant into a map check; Buffer.isBuffer's `instanceof
 * Buffer` reads `Buffer.prototype` each time, a tenth of decoding a 64 KiB binary.
 */
function toBuffer(bytes: Uint8Array): Buffer {
  return BUFFER_PROTOTYPE.isPrototypeOf(bytes) ? (bytes as Buffer) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const BUFFER_PROTOTYPE: object = Buffer.prototype;

function decodeCompressed(r: Reader, options: DecodeOptions): DecodedTerm {
  const at = r.pos;
  r.pos++; // the tag
  const size = r.uint32();
  const max = options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED;
  if (size > max) r.fail(`compressed term of ${size} bytes exceeds maxDecompressedSize ${max}`, Tag.COMPRESSED, at);
  let inflated: Buffer;
  try {
    inflated = inflateSync(r.buf.subarray(r.pos, r.end), { maxOutputLength: Math.max(size, 1) });
  } catch (cause) {
    throw new DecodeError('invalid zlib data in compressed term', at, Tag.COMPRESSED, { cause });
  }
  if (inflated.length !== size) {
    r.fail(`compressed term inflates to ${inflated.length} bytes, header says ${size}`, Tag.COMPRESSED, at);
  }
  const inner = new Reader(inflated);
  inner.binaries = r.binaries;
  if (options.maxTerms !== undefined) {
    inner.limit(options.maxTerms);
    inner.charge(1); // the root
  }
  const term = readTerm(inner, EMPTY_CONTEXT);
  if (inner.pos !== inner.end) inner.fail(`${inner.end - inner.pos} trailing bytes inside compressed term`);
  return term;
}

// Open containers waiting for their next element.
const Open = { Tuple: 0, ListElements: 1, ListTail: 2, MapKey: 3, MapValue: 4, FunFreeVars: 5 } as const;
type Open = (typeof Open)[keyof typeof Open];

interface Frame {
  open: Open;
  /** Elements so far (tuple, list, fun free variables). */
  items: DecodedTerm[];
  /** Elements (or map pairs) still to read. */
  remaining: number;
  map: Map<DecodedTerm, DecodedTerm> | undefined;
  /** The map key whose value is being read. */
  key: DecodedTerm | undefined;
  fun: FunHead | undefined;
}

function frame(open: Open, items: DecodedTerm[], remaining: number, map?: Map<DecodedTerm, DecodedTerm>, fun?: FunHead): Frame {
  return { open, items, remaining, map, key: undefined, fun };
}

type FunHead = Omit<Fun, 'freeVars'>;


/**
 * Past this depth the recursive fast path hands the subterm to the iterative
 * decoder, so no input can overflow the call stack.
 */
const MAX_RECURSION = 256;

/** Reads one term: recursive (fast) for the shallow part, iterative below MAX_RECURSION. */
function readTerm(r: Reader, ctx: DecodeContext, depth = 0): DecodedTerm {
  const buf = r.buf;
  const at = r.pos;
  if (at >= r.end) r.need(1);
  const tag = buf[at];
  switch (tag) {
    case Tag.SMALL_INTEGER_EXT:
      r.need(2);
      r.pos = at + 2;
      return buf[at + 1];
    case Tag.INTEGER_EXT:
      r.need(5);
      r.pos = at + 5;
      return int32At(buf, at + 1);
    case Tag.SMALL_ATOM_UTF8_EXT:
    case Tag.SMALL_ATOM_EXT:
    case Tag.ATOM_UTF8_EXT:
    case Tag.ATOM_EXT: {
      // An atom seen recently (the usual case: map keys, true, false, nil) needs none of
      // readAtom's generality: one byte comparison against the recent atoms.
      const small = tag === Tag.SMALL_ATOM_UTF8_EXT || tag === Tag.SMALL_ATOM_EXT;
      const start = small ? at + 2 : at + 3;
      if (start <= r.end) {
        const len = small ? buf[at + 1] : (buf[at + 1] << 8) | buf[at + 2];
        const a = len <= r.end - start ? recentAtom(buf, start, len) : undefined;
        if (a !== undefined) {
          r.pos = start + len;
          return a === ATOM_TRUE ? true : a === ATOM_FALSE ? false : a;
        }
      }
      const a = readAtom(r, ctx);
      return a === ATOM_TRUE ? true : a === ATOM_FALSE ? false : a;
    }
    case Tag.ATOM_CACHE_REF: {
      const a = readAtom(r, ctx);
      return a === ATOM_TRUE ? true : a === ATOM_FALSE ? false : a;
    }
    case Tag.BINARY_EXT: {
      const start = at + 5;
      if (start > r.end) r.need(5);
      const len = uint32At(buf, at + 1);
      r.pos = start;
      if (r.binaries === BinariesMode.Strings) {
        r.need(len, tag);
        return readBinaryString(r, len);
      }
      return r.binary(len, tag);
    }
    case Tag.SMALL_TUPLE_EXT:
    case Tag.LARGE_TUPLE_EXT:
    case Tag.LIST_EXT:
    case Tag.MAP_EXT:
      if (depth >= MAX_RECURSION) return readTermIterative(r, ctx);
      return readContainer(r, ctx, tag, depth + 1);
    // Leaves that are common in messages, read here rather than by the iterative decoder.
    case Tag.NIL_EXT:
      r.pos = at + 1;
      return [];
    case Tag.NEW_FLOAT_EXT:
      r.pos = at + 1;
      return readNewFloat(r, at);
    case Tag.STRING_EXT:
      r.pos = at + 1;
      return readStringExt(r);
    default:
      return readTermIterative(r, ctx);
  }
}

/** NEW_FLOAT_EXT's 8 bytes (the reader is past the tag at `at`). */
function readNewFloat(r: Reader, at: number): number | Float {
  const f = r.float64();
  if (!Number.isFinite(f)) r.fail('float is not finite', Tag.NEW_FLOAT_EXT, at);
  return Number.isInteger(f) ? new Float(f) : f;
}

/** STRING_EXT after its tag: a list of bytes, one term each for the budget (and its tail). */
function readStringExt(r: Reader): number[] {
  const len = r.uint16();
  r.need(len, Tag.STRING_EXT);
  r.charge(len + 1, Tag.STRING_EXT);
  const buf = r.buf;
  const start = r.pos;
  const chars = new Array<number>(len);
  for (let i = 0; i < len; i++) chars[i] = buf[start + i];
  r.pos = start + len;
  return chars;
}

function readContainer(r: Reader, ctx: DecodeContext, tag: number, depth: number): DecodedTerm {
  const at = r.pos;
  r.pos++;
  switch (tag) {
    case Tag.SMALL_TUPLE_EXT:
    case Tag.LARGE_TUPLE_EXT: {
      const arity = tag === Tag.SMALL_TUPLE_EXT ? r.uint8() : r.uint32();
      r.need(arity, tag);
      r.charge(arity, tag);
      const t = new Array<DecodedTerm>(arity);
      for (let i = 0; i < arity; i++) t[i] = readTerm(r, ctx, depth);
      return brandTuple(t);
    }
    case Tag.LIST_EXT: {
      const len = r.uint32();
      r.need(len + 1, tag);
      r.charge(len + 1, tag);
      const items = new Array<DecodedTerm>(len);
      const buf = r.buf;
      for (let i = 0; i < len; i++) {
        // Lists of integers are common; read them without a call per element.
        const p = r.pos;
        if (buf[p] === Tag.SMALL_INTEGER_EXT && p + 1 < r.end) {
          items[i] = buf[p + 1];
          r.pos = p + 2;
        } else if (buf[p] === Tag.INTEGER_EXT && p + 4 < r.end) {
          items[i] = int32At(buf, p + 1);
          r.pos = p + 5;
        } else {
          items[i] = readTerm(r, ctx, depth);
        }
      }
      if (r.pos < r.end && r.buf[r.pos] === Tag.NIL_EXT) {
        r.pos++;
        return items;
      }
      return withTail(items, readTerm(r, ctx, depth));
    }
    default: {
      const arity = r.uint32();
      r.need(arity * 2, tag);
      r.charge(arity * 2, tag);
      const m = new Map<DecodedTerm, DecodedTerm>();
      const keyStrings = r.binaries === BinariesMode.KeyStrings;
      for (let i = 0; i < arity; i++) {
        const k = keyStrings && r.buf[r.pos] === Tag.BINARY_EXT ? readBinaryKey(r) : readTerm(r, ctx, depth);
        m.set(k, readTerm(r, ctx, depth));
        if (m.size !== i + 1) r.fail('duplicate key in map', tag, at);
      }
      return m;
    }
  }
}

/** The iterative decoder: any depth, no recursion. */
function readTermIterative(r: Reader, ctx: DecodeContext): DecodedTerm {
  const stack: Frame[] = [];
  let value: DecodedTerm;
  for (;;) {
    // Read one term; containers with elements open a frame and go round again.
    const at = r.pos;
    const tag = r.uint8();
    switch (tag) {
      case Tag.SMALL_INTEGER_EXT:
        value = r.uint8();
        break;
      case Tag.INTEGER_EXT:
        value = r.int32();
        break;
      case Tag.NEW_FLOAT_EXT:
        value = readNewFloat(r, at);
        break;
      case Tag.FLOAT_EXT: {
        const text = r.view(31, tag).toString('latin1').replace(/\0+$/, '');
        const f = Number.parseFloat(text);
        if (!Number.isFinite(f)) r.fail('FLOAT_EXT is not a finite float', tag, at);
        value = Number.isInteger(f) ? new Float(f) : f;
        break;
      }
      case Tag.SMALL_ATOM_UTF8_EXT:
      case Tag.ATOM_UTF8_EXT:
      case Tag.SMALL_ATOM_EXT:
      case Tag.ATOM_EXT:
      case Tag.ATOM_CACHE_REF: {
        r.pos = at;
        const a = readAtom(r, ctx);
        value = a.name === 'true' ? true : a.name === 'false' ? false : a;
        break;
      }
      case Tag.SMALL_TUPLE_EXT:
      case Tag.LARGE_TUPLE_EXT: {
        const arity = tag === Tag.SMALL_TUPLE_EXT ? r.uint8() : r.uint32();
        r.need(arity, tag); // every element takes at least one byte
        r.charge(arity, tag);
        if (arity > 0) {
          stack.push(frame(Open.Tuple, [], arity));
          continue;
        }
        value = brandTuple([]);
        break;
      }
      case Tag.NIL_EXT:
        value = [];
        break;
      case Tag.STRING_EXT:
        value = readStringExt(r);
        break;
      case Tag.LIST_EXT: {
        const len = r.uint32();
        r.need(len + 1, tag); // elements and tail take at least a byte each
        r.charge(len + 1, tag);
        if (len === 0) {
          // Not produced by OTP, but legal: [ | Tail] is just Tail.
          stack.push(frame(Open.ListTail, [], 0));
        } else {
          stack.push(frame(Open.ListElements, [], len));
        }
        continue;
      }
      case Tag.BINARY_EXT: {
        const len = r.uint32();
        const asString =
          r.binaries === BinariesMode.Strings ||
          (r.binaries === BinariesMode.KeyStrings && stack.length > 0 && stack[stack.length - 1].open === Open.MapKey);
        if (asString) {
          r.need(len, tag);
          value = readBinaryString(r, len);
        } else {
          value = r.binary(len, tag);
        }
        break;
      }
      case Tag.BIT_BINARY_EXT: {
        const len = r.uint32();
        const bits = r.uint8();
        if (bits < 1 || bits > 8 || len === 0) r.fail(`invalid bit count ${bits} for ${len} bytes`, tag, at);
        const bytes = r.binary(len, tag);
        value = new BitBinary(bytes, bits);
        break;
      }
      case Tag.SMALL_BIG_EXT:
      case Tag.LARGE_BIG_EXT: {
        const n = tag === Tag.SMALL_BIG_EXT ? r.uint8() : r.uint32();
        const sign = r.uint8();
        if (sign > 1) r.fail(`invalid bignum sign ${sign}`, tag, at);
        value = readBigDigits(r, n, sign === 1, tag);
        break;
      }
      case Tag.MAP_EXT: {
        const arity = r.uint32();
        r.need(arity * 2, tag);
        r.charge(arity * 2, tag);
        const m = new Map<DecodedTerm, DecodedTerm>();
        if (arity > 0) {
          stack.push(frame(Open.MapKey, [], arity, m));
          continue;
        }
        value = m;
        break;
      }
      case Tag.NEW_PID_EXT:
      case Tag.PID_EXT:
      case Tag.NEW_PORT_EXT:
      case Tag.PORT_EXT:
      case Tag.V4_PORT_EXT:
      case Tag.NEWER_REFERENCE_EXT:
      case Tag.NEW_REFERENCE_EXT:
      case Tag.REFERENCE_EXT:
        r.pos = at;
        value = readIdentifier(r, ctx);
        break;
      case Tag.EXPORT_EXT: {
        const module = readAtom(r, ctx);
        const fn = readAtom(r, ctx);
        const arityTag = r.uint8();
        if (arityTag !== Tag.SMALL_INTEGER_EXT) r.fail('EXPORT_EXT arity is not a SMALL_INTEGER_EXT', tag, at);
        value = new ExternalFun(module, fn, r.uint8());
        break;
      }
      case Tag.NEW_FUN_EXT: {
        const size = r.uint32();
        r.need(size - 4, tag);
        const arity = r.uint8();
        const uniq = r.copy(16, tag);
        const index = r.uint32();
        const numFree = r.uint32();
        r.need(numFree, tag);
        r.charge(numFree, tag);
        const module = readAtom(r, ctx);
        const oldIndex = readSmallOrInteger(r);
        const oldUniq = readSmallOrInteger(r);
        const pid = readIdentifier(r, ctx);
        if (!(pid instanceof Pid)) r.fail('NEW_FUN_EXT creator is not a pid', tag, at);
        const head: FunHead = { arity, uniq, index, module, oldIndex, oldUniq, pid };
        if (numFree > 0) {
          stack.push(frame(Open.FunFreeVars, [], numFree, undefined, head));
          continue;
        }
        value = makeFun(head, []);
        break;
      }
      case Tag.COMPRESSED:
        r.fail('a compressed term can only be a whole encoding', tag, at);
        break;
      case Tag.LOCAL_EXT:
        r.fail('a LOCAL_EXT term can only be a whole encoding', tag, at);
        break;
      default:
        r.fail(`unknown tag ${tag}`, tag, at);
    }

    // Hand the value to the innermost open container; close containers that are full.
    for (;;) {
      const top = stack.length > 0 ? stack[stack.length - 1] : undefined;
      if (top === undefined) return value;
      if (top.open === Open.Tuple || top.open === Open.FunFreeVars) {
        top.items.push(value);
        if (--top.remaining > 0) break;
        stack.pop();
        value = top.fun === undefined ? brandTuple(top.items) : makeFun(top.fun, top.items);
      } else if (top.open === Open.ListElements) {
        top.items.push(value);
        if (--top.remaining === 0) top.open = Open.ListTail;
        break;
      } else if (top.open === Open.ListTail) {
        stack.pop();
        value = withTail(top.items, value);
      } else if (top.open === Open.MapKey) {
        top.key = value;
        top.open = Open.MapValue;
        break;
      } else {
        const m = top.map as Map<DecodedTerm, DecodedTerm>;
        const before = m.size;
        m.set(top.key as DecodedTerm, value);
        if (m.size === before) r.fail('duplicate key in map');
        if (--top.remaining > 0) {
          top.open = Open.MapKey;
          break;
        }
        stack.pop();
        value = m;
      }
    }
  }
}

/**
 * The `len` bytes at the reader's position (already checked to be there) as a string
 * when they are valid UTF-8, else as a Buffer (as without the option). The result's
 * static type stays DecodedTerm: decode's overload returns Term for these modes.
 */
function readBinaryString(r: Reader, len: number): DecodedTerm {
  const buf = r.buf;
  const start = r.pos;
  const end = start + len;
  let value: string | undefined = len <= RECENT_STRING_MAX ? recentString(buf, start, len) : undefined;
  if (value !== undefined) {
    // A cached string: its bytes were compared, nothing to build.
  } else if (isAscii(buf, start, end)) {
    value = buf.toString('latin1', start, end);
    if (len <= RECENT_STRING_MAX) rememberString(buf, start, len, value);
  } else if (isUtf8(buf.subarray(start, end))) {
    value = buf.toString('utf8', start, end);
  } else {
    return r.binary(len);
  }
  r.pos = end;
  return value as unknown as DecodedTerm;
}

/** A map key that is a BINARY_EXT, in KeyStrings mode. */
function readBinaryKey(r: Reader): DecodedTerm {
  r.need(5);
  const len = uint32At(r.buf, r.pos + 1);
  r.pos += 5;
  r.need(len, Tag.BINARY_EXT);
  return readBinaryString(r, len);
}

function makeFun(h: FunHead, freeVars: DecodedTerm[]): Fun {
  return new Fun(h.arity, h.uniq, h.index, h.module, h.oldIndex, h.oldUniq, h.pid, freeVars);
}

/** Joins list elements and the tail that followed them in LIST_EXT. */
function withTail(items: DecodedTerm[], tail: DecodedTerm): DecodedTerm {
  if (Array.isArray(tail) && !(tail instanceof Tuple)) {
    // [] (NIL_EXT) makes a proper list; a list tail (legal, never sent by OTP) extends it.
    for (let i = 0; i < tail.length; i++) items.push(tail[i]);
    return items;
  }
  if (tail instanceof ImproperList) return improperList(items.concat(tail.elements), tail.tail);
  if (items.length === 0) return tail;
  return improperList(items, tail);
}

function improperList(elements: DecodedTerm[], tail: DecodedTerm): DecodedImproperList {
  return new ImproperList(elements, tail) as DecodedImproperList;
}

// ignoreBOM: a leading U+FEFF is part of the atom's name, not a byte-order mark to drop.
const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ATOM_TRUE = Atom.intern('true');
const ATOM_FALSE = Atom.intern('false');

/** For the short names atoms usually have, building the string here beats a native call. */
function shortName(buf: Buffer, start: number, end: number): string {
  let name = '';
  for (let i = start; i < end; i++) name += String.fromCharCode(buf[i]);
  return name;
}

/** Reads an atom (any of the atom tags, or a cache reference) and interns it. */
export function readAtom(r: Reader, ctx: DecodeContext): Atom {
  const at = r.pos;
  const tag = r.uint8();
  let len: number;
  let latin1 = false;
  switch (tag) {
    case Tag.SMALL_ATOM_UTF8_EXT:
      len = r.uint8();
      break;
    case Tag.ATOM_UTF8_EXT:
      len = r.uint16();
      break;
    case Tag.SMALL_ATOM_EXT:
      len = r.uint8();
      latin1 = true;
      break;
    case Tag.ATOM_EXT:
      len = r.uint16();
      latin1 = true;
      break;
    case Tag.ATOM_CACHE_REF: {
      const index = r.uint8();
      const cached = ctx.atomCache?.[index];
      if (cached === undefined) r.fail(`atom cache reference ${index} is not in the distribution header`, tag, at);
      return cached;
    }
    default:
      return r.fail(`expected an atom, got tag ${tag}`, tag, at);
  }
  r.need(len, tag);
  const start = r.pos;
  const end = start + len;
  const buf = r.buf;
  let name: string;
  if (isAscii(buf, start, end)) {
    if (len > MAX_ATOM_CHARACTERS) r.fail(`atom of ${len} characters exceeds ${MAX_ATOM_CHARACTERS}`, tag, at);
    r.pos = end;
    const recent = recentAtom(buf, start, len);
    if (recent !== undefined) return recent;
    name = len <= 24 ? shortName(buf, start, end) : buf.toString('latin1', start, end);
    const a = Atom.intern(name);
    rememberAtom(buf, start, len, a);
    return a;
  } else if (latin1) {
    if (len > MAX_ATOM_CHARACTERS) r.fail(`atom of ${len} characters exceeds ${MAX_ATOM_CHARACTERS}`, tag, at);
    name = buf.toString('latin1', start, end);
  } else {
    try {
      name = utf8Fatal.decode(buf.subarray(start, end));
    } catch (cause) {
      throw new DecodeError('atom is not valid UTF-8', at, tag, { cause });
    }
    // Count code points, not UTF-16 units: OTP's limit is 255 characters.
    let chars = 0;
    for (const _ of name) chars++;
    if (chars > MAX_ATOM_CHARACTERS) r.fail(`atom of ${chars} characters exceeds ${MAX_ATOM_CHARACTERS}`, tag, at);
  }
  r.pos = end;
  return Atom.intern(name);
}

/** Reads a pid, port or reference (any of their encodings). */
function readIdentifier(r: Reader, ctx: DecodeContext): Pid | Port | Reference {
  const at = r.pos;
  const tag = r.uint8();
  switch (tag) {
    case Tag.NEW_PID_EXT:
    case Tag.PID_EXT: {
      const node = readAtom(r, ctx);
      const id = r.uint32();
      const serial = r.uint32();
      const creation = tag === Tag.NEW_PID_EXT ? r.uint32() : r.uint8();
      return new Pid(node, id, serial, creation);
    }
    case Tag.NEW_PORT_EXT:
    case Tag.PORT_EXT:
    case Tag.V4_PORT_EXT: {
      const node = readAtom(r, ctx);
      const id = tag === Tag.V4_PORT_EXT ? r.uint64() : BigInt(r.uint32());
      const creation = tag === Tag.PORT_EXT ? r.uint8() : r.uint32();
      return new Port(node, id, creation);
    }
    case Tag.NEWER_REFERENCE_EXT:
    case Tag.NEW_REFERENCE_EXT: {
      const len = r.uint16();
      if (len < 1 || len > 5) r.fail(`reference with ${len} id words (1 to 5 allowed)`, tag, at);
      const node = readAtom(r, ctx);
      const creation = tag === Tag.NEWER_REFERENCE_EXT ? r.uint32() : r.uint8();
      r.need(len * 4, tag);
      const id = new Array<number>(len);
      for (let i = 0; i < len; i++) id[i] = r.uint32();
      return new Reference(node, creation, id);
    }
    case Tag.REFERENCE_EXT: {
      const node = readAtom(r, ctx);
      const id = r.uint32();
      return new Reference(node, r.uint8(), [id]);
    }
    default:
      return r.fail(`expected a pid, port or reference, got tag ${tag}`, tag, at);
  }
}

function readSmallOrInteger(r: Reader): number {
  const at = r.pos;
  const tag = r.uint8();
  if (tag === Tag.SMALL_INTEGER_EXT) return r.uint8();
  if (tag === Tag.INTEGER_EXT) return r.int32();
  return r.fail(`expected an integer, got tag ${tag}`, tag, at);
}

/** Little-endian magnitude of `n` bytes: a number when it is a safe integer, else a bigint. */
function readBigDigits(r: Reader, n: number, negative: boolean, tag: number): number | bigint {
  r.need(n, tag);
  const buf = r.buf;
  const start = r.pos;
  r.pos += n;
  if (n <= MAX_SAFE_BIG_BYTES) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + buf[start + i];
    return negative && v !== 0 ? -v : v;
  }
  let hex = '';
  for (let i = n - 1; i >= 0; i--) hex += HEX[buf[start + i]];
  let big = BigInt('0x' + hex);
  if (negative) big = -big;
  return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
