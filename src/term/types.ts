/**
 * The JavaScript form of Erlang terms. The mapping (README, "Terms") is:
 *
 * | Erlang                     | JavaScript                                             |
 * |----------------------------|--------------------------------------------------------|
 * | atom                       | `Atom` (interned: `atom('ok') === decoded`)            |
 * | true / false               | `true` / `false`                                       |
 * | integer                    | `number` when safe, else `bigint`                      |
 * | float                      | `number`; `Float` when the value is integral (1.0)     |
 * | binary                     | `Buffer` (decode); `string` encodes as a UTF-8 binary  |
 * | bitstring                  | `BitBinary`                                            |
 * | proper list / string       | `Term[]` (a charlist is an array of numbers)           |
 * | improper list              | `ImproperList`                                         |
 * | tuple                      | `Tuple` (an Array subclass: indexable and iterable)    |
 * | map                        | `Map` (decode); plain objects encode with atom keys    |
 * | pid / port / reference     | `Pid` / `Port` / `Reference`                           |
 * | fun M:F/A                  | `ExternalFun`                                          |
 * | fun (closure)              | `Fun` (opaque; round-trips)                            |
 * | LOCAL_EXT term             | `LocalTerm` (opaque bytes; top level only)             |
 */

/** Any value that maps to an Erlang term. */
export type Term =
  | Atom
  | boolean
  | number
  | bigint
  | Float
  | string
  | Uint8Array
  | BitBinary
  | Tuple
  | Term[]
  | ImproperList
  | Map<Term, Term>
  | { [key: string]: Term }
  | Pid
  | Port
  | Reference
  | ExternalFun
  | Fun
  | LocalTerm;

/**
 * What a decoded term can be: the part of `Term` that the decoder produces, so that
 * narrowing a decoded value needs no casts. Compared with `Term`: binaries are always
 * `Buffer`, never `string`; maps are always `Map`, never plain objects; atoms named
 * `true`/`false` are booleans; integers are `number` when safe and `bigint` only
 * beyond 2^53; lists, tuples, improper lists and maps hold decoded terms in turn.
 * `LocalTerm` is not here: it can only be a whole encoding, so only `decode()` itself
 * can return one.
 */
export type DecodedTerm =
  | Atom
  | boolean
  | number
  | bigint
  | Float
  | Buffer
  | BitBinary
  | Tuple<DecodedTerm>
  | DecodedTerm[]
  | DecodedImproperList
  | Map<DecodedTerm, DecodedTerm>
  | Pid
  | Port
  | Reference
  | ExternalFun
  | Fun;

/**
 * A decoded improper list: its elements and tail are decoded terms. (An interface
 * rather than a type parameter of `ImproperList`, so that `new ImproperList([a], b)`
 * needs no type argument when `a` and `b` differ.)
 */
export interface DecodedImproperList extends ImproperList {
  readonly elements: DecodedTerm[];
  readonly tail: DecodedTerm;
}

// Atoms are interned so that `===` works, but only weakly: a remote node could send
// millions of distinct atoms, and an intern table that only grows would let it
// exhaust our memory. An atom nobody references can be collected; a later atom
// with the same name is then a fresh object, which nobody can tell apart.
const atomTable = new Map<string, WeakRef<Atom>>();
const atomCleanup = new FinalizationRegistry<string>((name) => {
  const ref = atomTable.get(name);
  if (ref !== undefined && ref.deref() === undefined) atomTable.delete(name);
});

/** An Erlang atom. Never construct it directly: use `atom(name)`, which interns it. */
export class Atom {
  readonly name: string;
  /**
   * @internal the encoder's cached ETF form of this atom (tag and length included): its
   * byte length, then its bytes as big-endian 32-bit words (the last one zero-padded)
   */
  encoded: number[] | undefined = undefined;
  // Not tagged internal: stripInternal would drop it from the .d.ts and leave a public constructor.
  /** Use `atom()`, which interns. */
  private constructor(name: string) {
    this.name = name;
  }
  /** @internal */
  static intern(name: string): Atom {
    const existing = atomTable.get(name)?.deref();
    if (existing !== undefined) return existing;
    const created = new Atom(name);
    atomTable.set(name, new WeakRef(created));
    atomCleanup.register(created, name);
    return created;
  }
  toString(): string {
    return this.name;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `atom(${JSON.stringify(this.name)})`;
  }
}

/** The maximum number of characters in an atom, as in OTP. */
export const MAX_ATOM_CHARACTERS = 255;

/**
 * The atom named `name`. The same name always gives the same object while it is
 * referenced, so atoms compare with `===`.
 * @throws EncodeError-free: names longer than 255 characters are refused when encoded.
 */
export function atom(name: string): Atom {
  return Atom.intern(name);
}

// A tuple is a plain array carrying a brand. Array subclasses cost ~400 ns each to
// construct in V8 (and a Symbol.species override slows every array in the process),
// while a branded array costs what an array literal does. The brand is Node's
// inspect hook, so the same property also prints tuples as {a, b}.
const TUPLE_BRAND: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;

function inspectTuple(this: Term[], _depth: number, options: unknown, inspect: (v: unknown, o: unknown) => string): string {
  return `{${this.map((e) => inspect(e, options)).join(', ')}}`;
}

/**
 * An Erlang tuple: an array (indexable, iterable, has `length`) that is marked as a
 * tuple, so it is never confused with a list. Build one with `tuple(a, b, c)`;
 * `x instanceof Tuple` and `isTuple(x)` tell tuples from lists.
 */
export interface Tuple<T extends Term = Term> extends Array<T> {
  readonly [TUPLE_BRAND]: typeof inspectTuple;
}

/**
 * `Tuple` as a value: `Tuple.fromArray` and `instanceof Tuple`. A decoded term narrows
 * to `Tuple<DecodedTerm>` (its elements are decoded terms too), anything else to `Tuple`.
 */
export interface TupleConstructor {
  /** A tuple holding `elements` (copied). */
  fromArray(elements: readonly Term[]): Tuple;
  [Symbol.hasInstance](value: DecodedTerm | LocalTerm | undefined): value is Tuple<DecodedTerm>;
  [Symbol.hasInstance](value: unknown): value is Tuple;
}

export const Tuple: TupleConstructor = {
  fromArray(elements: readonly Term[]): Tuple {
    return brandTuple(elements.slice());
  },
  [Symbol.hasInstance]: isTuple,
};

/** Marks `elements` (taken, not copied) as a tuple. */
export function brandTuple<T extends Term>(elements: T[]): Tuple<T> {
  (elements as { [TUPLE_BRAND]?: unknown })[TUPLE_BRAND] = inspectTuple;
  return elements as Tuple<T>;
}

/** `{a, b, c}`: a tuple of the given elements. */
export function tuple(...elements: Term[]): Tuple {
  return brandTuple(elements);
}

/** `true` when `value` is an Erlang tuple (rather than a list). */
export function isTuple(value: DecodedTerm | LocalTerm | undefined): value is Tuple<DecodedTerm>;
export function isTuple(value: unknown): value is Tuple;
export function isTuple(value: unknown): value is Tuple {
  return Array.isArray(value) && (value as { [TUPLE_BRAND]?: unknown })[TUPLE_BRAND] === inspectTuple;
}

/**
 * An Erlang float whose value is integral (`1.0`, `-0.0`, `1.0e300`). JavaScript cannot
 * tell `1.0` from `1`, so such floats decode to a `Float` to keep them floats when they
 * are sent back. Non-integral floats decode to plain numbers. `valueOf` makes it work
 * in arithmetic (`f * 2`).
 */
export class Float {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return Object.is(this.value, -0) ? '-0.0' : Number.isInteger(this.value) ? `${this.value}.0` : String(this.value);
  }
}

/** `value` as an Erlang float, even when it is integral. */
export function float(value: number): Float {
  return new Float(value);
}

/** A list whose tail is not `[]`: `[a, b | tail]`. `elements` is never empty. */
export class ImproperList {
  readonly elements: Term[];
  readonly tail: Term;
  constructor(elements: Term[], tail: Term) {
    this.elements = elements;
    this.tail = tail;
  }
}

/** A bitstring whose length is not a whole number of bytes: `bits` (1-8) of the last byte are used. */
export class BitBinary {
  readonly bytes: Uint8Array;
  readonly bits: number;
  constructor(bytes: Uint8Array, bits: number) {
    this.bytes = bytes;
    this.bits = bits;
  }
}

/** An Erlang process identifier. */
export class Pid {
  readonly node: Atom;
  readonly id: number;
  readonly serial: number;
  readonly creation: number;
  constructor(node: Atom, id: number, serial: number, creation: number) {
    this.node = node;
    this.id = id;
    this.serial = serial;
    this.creation = creation;
  }
  /** `true` when both identify the same process. */
  equals(other: unknown): boolean {
    return (
      other instanceof Pid &&
      other.node === this.node &&
      other.id === this.id &&
      other.serial === this.serial &&
      other.creation === this.creation
    );
  }
  toString(): string {
    return `#Pid<${this.node.name}.${this.id}.${this.serial}>`;
  }
}

/** An Erlang port identifier. `id` is 64 bits since OTP 26 (V4_PORT_EXT), hence a bigint. */
export class Port {
  readonly node: Atom;
  readonly id: bigint;
  readonly creation: number;
  constructor(node: Atom, id: bigint, creation: number) {
    this.node = node;
    this.id = id;
    this.creation = creation;
  }
  equals(other: unknown): boolean {
    return other instanceof Port && other.node === this.node && other.id === this.id && other.creation === this.creation;
  }
  toString(): string {
    return `#Port<${this.node.name}.${this.id}>`;
  }
}

/** An Erlang reference: up to 5 32-bit words of uninterpreted id (OTP 26+). */
export class Reference {
  readonly node: Atom;
  readonly creation: number;
  readonly id: readonly number[];
  constructor(node: Atom, creation: number, id: readonly number[]) {
    this.node = node;
    this.creation = creation;
    this.id = id;
  }
  equals(other: unknown): boolean {
    if (!(other instanceof Reference) || other.node !== this.node || other.creation !== this.creation) return false;
    if (other.id.length !== this.id.length) return false;
    for (let i = 0; i < this.id.length; i++) if (other.id[i] !== this.id[i]) return false;
    return true;
  }
  toString(): string {
    return `#Ref<${this.node.name}.${this.id.join('.')}>`;
  }
}

/** `fun Module:Function/Arity`. */
export class ExternalFun {
  readonly module: Atom;
  readonly function: Atom;
  readonly arity: number;
  constructor(module: Atom, fn: Atom, arity: number) {
    this.module = module;
    this.function = fn;
    this.arity = arity;
  }
}

/**
 * A closure made on a BEAM node (NEW_FUN_EXT). It cannot run here; it is kept whole
 * so that it can be sent back and called there.
 */
export class Fun {
  constructor(
    readonly arity: number,
    readonly uniq: Uint8Array,
    readonly index: number,
    readonly module: Atom,
    readonly oldIndex: number,
    readonly oldUniq: number,
    readonly pid: Pid,
    readonly freeVars: Term[],
  ) {}
}

/**
 * A term in OTP's local external format (`term_to_binary(T, [local])`, LOCAL_EXT). Its
 * bytes (after the tag) are only meaningful to the node that made them, so they are
 * kept as they are. It can only appear as a whole encoding, never inside another term.
 */
export class LocalTerm {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}
