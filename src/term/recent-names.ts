/**
 * Caches of recently decoded names: atoms, and short strings (binaries decoded as
 * strings, `binaries: 'utf8' | 'utf8-keys'`). Struct and JSON-like terms repeat the same
 * keys in every element of a list; a name found here costs one byte comparison instead
 * of building a string (and, for an atom, looking it up in the intern table), and a
 * string found here already has its hash computed for Map.set.
 *
 * Both are two-way set-associative and bounded, so they keep at most RECENT_ATOMS atoms and
 * RECENT_STRINGS strings alive (the atom intern table stays weak otherwise). Only ASCII
 * names are cached, so a name's bytes and its UTF-16 code units are the same numbers
 * whatever the tag (Latin-1 or UTF-8) and comparing them is the whole check.
 */
import type { Atom } from './types.js';

const RECENT_ATOMS = 1024;
const RECENT_STRINGS = 512;
/** Longer strings are not cached. */
export const RECENT_STRING_MAX = 32;

const recentAtoms = new Array<Atom | undefined>(RECENT_ATOMS).fill(undefined);
const recentStrings = new Array<string | undefined>(RECENT_STRINGS).fill(undefined);

/** The atom named by the `len` bytes at `start`, if it is cached. */
export function recentAtom(buf: Buffer, start: number, len: number): Atom | undefined {
  const slot = nameSlot(buf, start, len) & (RECENT_ATOMS - 2);
  let recent = recentAtoms[slot];
  if (recent !== undefined && sameName(recent.name, buf, start, len)) return recent;
  recent = recentAtoms[slot + 1];
  return recent !== undefined && sameName(recent.name, buf, start, len) ? recent : undefined;
}

/** Caches `atom`, whose name is the `len` ASCII bytes at `start`. */
export function rememberAtom(buf: Buffer, start: number, len: number, atom: Atom): void {
  const slot = nameSlot(buf, start, len) & (RECENT_ATOMS - 2);
  recentAtoms[slot + 1] = recentAtoms[slot];
  recentAtoms[slot] = atom;
}

/** The string of the `len` bytes at `start`, if it is cached. */
export function recentString(buf: Buffer, start: number, len: number): string | undefined {
  const slot = nameSlot(buf, start, len) & (RECENT_STRINGS - 2);
  let recent = recentStrings[slot];
  if (recent !== undefined && sameName(recent, buf, start, len)) return recent;
  recent = recentStrings[slot + 1];
  return recent !== undefined && sameName(recent, buf, start, len) ? recent : undefined;
}

/** Caches `value`, the string of the `len` ASCII bytes at `start` (at most RECENT_STRING_MAX). */
export function rememberString(buf: Buffer, start: number, len: number, value: string): void {
  const slot = nameSlot(buf, start, len) & (RECENT_STRINGS - 2);
  recentStrings[slot + 1] = recentStrings[slot];
  recentStrings[slot] = value;
}

/** `true` when bytes `start..end` are all ASCII. */
export function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return false;
  return true;
}

/**
 * A name's slot, from its length and four of its bytes (first, middle, last two), so
 * that it costs the same for any name: the cache is looked up for every atom decoded,
 * and a hash of every byte was a fifth of decoding a struct-heavy term. Names that share
 * all five only share a slot (a miss, never a wrong hit: sameName checks every byte).
 * The five are mixed by murmur3's finalizer, so that names differing in one of them land
 * apart. The slot is even and names the set of two (slot, slot + 1: two ways), so that
 * two names that do land together, used in turn (keys of one struct), both stay.
 */
function nameSlot(buf: Buffer, start: number, len: number): number {
  if (len === 0) return 0;
  const last = start + len - 1;
  let h = (len & 0xff) | (buf[start] << 8) | (buf[start + (len >> 1)] << 16) | (buf[last] << 24);
  h ^= Math.imul(len > 1 ? buf[last - 1] : 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function sameName(name: string, buf: Buffer, start: number, len: number): boolean {
  if (name.length !== len) return false;
  for (let i = 0; i < len; i++) if (name.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}
