/**
 * Elixir's forms of terms, for TypeScript code that talks to Elixir processes.
 *
 * | Elixir                         | Erlang term                                  | here                                     |
 * |--------------------------------|----------------------------------------------|------------------------------------------|
 * | module `MyApp.Counter`         | atom `'Elixir.MyApp.Counter'`                | `elixirModule('MyApp.Counter')`          |
 * | `%MyApp.User{name: "jo"}`      | map `#{'__struct__' => 'Elixir.MyApp.User', name => <<"jo">>}` | `elixirStruct` / `parseElixirStruct` |
 * | string `"héllo"`               | UTF-8 binary                                 | a JS string encodes as one; `elixirString` decodes |
 * | charlist `~c"abc"`             | list of code points                          | `charlist(s)` / `elixirString`           |
 * | `nil`, `true`, `false`         | atoms `nil`, `true`, `false`                 | `atom('nil')`, `true`, `false`           |
 * | `%{"key" => 1}` (JSON-like)    | map with binary keys                         | `jsonTerm({ key: 1 })`                   |
 *
 * Atoms are never garbage-collected on BEAM, and a node dies when its atom table (about
 * a million by default) is full. A plain JS object encodes with atom keys, so an object
 * whose keys come from outside (JSON from users, headers) can fill the receiving node's
 * table: send such data through `jsonTerm`, which makes binary keys, as Jason and
 * Phoenix do.
 */
import { atom, Atom, isTuple, type Term } from '../term/types.js';

const ELIXIR_PREFIX = 'Elixir.';
const STRUCT = atom('__struct__');
const NIL = atom('nil');
/** An Elixir alias: dot-separated segments, each starting with an upper-case letter. */
const ALIAS = /^[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The atom of an Elixir module: `elixirModule('MyApp.Counter')` is `'Elixir.MyApp.Counter'`,
 * for `node.send({ name: elixirModule('MyApp.Counter').name, node }, ...)` (a GenServer
 * started with `name: __MODULE__`). A name that already starts with `Elixir.` is kept.
 * @throws TypeError for a name that is not an Elixir alias (`my_app` is an Erlang module: use `atom`).
 */
export function elixirModule(name: string): Atom {
  const alias = name.startsWith(ELIXIR_PREFIX) ? name.slice(ELIXIR_PREFIX.length) : name;
  if (!ALIAS.test(alias)) throw new TypeError(`elixirModule: '${name}' is not an Elixir module name such as MyApp.Counter`);
  return atom(ELIXIR_PREFIX + alias);
}

/** `'MyApp.Counter'` for the atom `'Elixir.MyApp.Counter'`; undefined for any other term. */
export function elixirModuleName(term: Term): string | undefined {
  if (!(term instanceof Atom) || !term.name.startsWith(ELIXIR_PREFIX)) return undefined;
  const alias = term.name.slice(ELIXIR_PREFIX.length);
  return ALIAS.test(alias) ? alias : undefined;
}

/**
 * `%Module{field: value, ...}`: a map with `__struct__` and atom keys. Fields left out
 * are left out (Elixir fills in defaults only at compile time): give every field the
 * struct declares, as `struct!/2` would insist.
 * @throws TypeError for a bad module name, or a field named `__struct__`.
 */
export function elixirStruct(module: string, fields: Record<string, Term>): Map<Term, Term> {
  const m = new Map<Term, Term>([[STRUCT, elixirModule(module)]]);
  for (const key of Object.keys(fields)) {
    if (key === STRUCT.name) throw new TypeError('elixirStruct: __struct__ is set from the module name');
    m.set(atom(key), fields[key]);
  }
  return m;
}

/**
 * The module and fields of a decoded struct (a map with an Elixir module under
 * `__struct__` and atom keys); undefined for anything else, or when `module` is given
 * and it is another struct. Field values are left as they were decoded (a string field
 * is a Buffer: see `elixirString`).
 */
export function parseElixirStruct(term: Term, module?: string): { module: string; fields: Record<string, Term> } | undefined {
  if (!(term instanceof Map)) return undefined;
  const name = elixirModuleName(term.get(STRUCT) as Term);
  if (name === undefined || (module !== undefined && elixirModuleName(elixirModule(module)) !== name)) return undefined;
  // A null prototype: a field named `__proto__` or `constructor` is data, not a trap.
  const fields = Object.create(null) as Record<string, Term>;
  for (const [k, v] of term) {
    if (!(k instanceof Atom)) return undefined;
    if (k !== STRUCT) fields[k.name] = v;
  }
  return { module: name, fields };
}

/**
 * A JS string from an Elixir string (a UTF-8 binary) or a charlist (a list of code
 * points); undefined for anything else, for bytes that are not UTF-8, and for lists
 * that are not code points.
 */
export function elixirString(term: Term): string | undefined {
  if (typeof term === 'string') return term;
  if (term instanceof Uint8Array) {
    try {
      return utf8.decode(term);
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(term) || isTuple(term)) return undefined;
  let s = '';
  for (const c of term) {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return undefined;
    s += String.fromCodePoint(c);
  }
  return s;
}

/** `~c"..."`: the charlist (list of code points) of `s`, for Erlang APIs that take strings as lists. */
export function charlist(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) as number);
  return out;
}

/**
 * A JSON-like value as Elixir code decodes JSON (Jason, Phoenix params): objects become
 * maps with *binary* keys, `null` becomes `nil`, arrays lists. Use it for data whose
 * keys you do not control: it creates no atoms on the receiving node.
 * @throws TypeError for values JSON has no form for (undefined, functions, bigints,
 * class instances, cycles); RangeError for nesting deeper than the JS stack.
 */
export function jsonTerm(value: unknown): Term {
  return toJsonTerm(value, new Set());
}

function toJsonTerm(value: unknown, path: Set<object>): Term {
  if (value === null) return NIL;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`jsonTerm: ${value} has no JSON form`);
      return value;
    case 'object': {
      if (path.has(value)) throw new TypeError('jsonTerm: a cyclic value has no JSON form');
      path.add(value);
      let out: Term;
      if (Array.isArray(value)) {
        out = value.map((v) => toJsonTerm(v, path));
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) throw new TypeError(`jsonTerm: a ${value.constructor?.name ?? 'object'} has no JSON form`);
        const m = new Map<Term, Term>();
        for (const key of Object.keys(value)) m.set(key, toJsonTerm((value as Record<string, unknown>)[key], path));
        out = m;
      }
      path.delete(value);
      return out;
    }
    default:
      throw new TypeError(`jsonTerm: a ${typeof value} has no JSON form`);
  }
}
