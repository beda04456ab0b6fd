/**
 * References as BEAM makes them: three words, the first of 18 bits (erl_ext_dist:
 * "only 18 bits are significant" in it), the other two of 32, counting together as
 * one 82-bit number. The counter starts at a random point, so references of two
 * incarnations with the same creation do not collide either, and it never repeats
 * within an incarnation (2^82 references).
 */
import { randomBytes } from 'node:crypto';
import { Reference, type Atom } from '../term/types.js';

const WORD0_LIMIT = 0x40000; // 2^18
const WORD_LIMIT = 0x100000000; // 2^32

export class RefMaker {
  private word0: number;
  private word1: number;
  private word2: number;

  constructor(
    private readonly node: Atom,
    private readonly creation: number,
  ) {
    const seed = randomBytes(12);
    this.word0 = seed.readUInt32BE(0) % WORD0_LIMIT;
    this.word1 = seed.readUInt32BE(4);
    this.word2 = seed.readUInt32BE(8);
  }

  /** A new reference, distinct from every other this maker has made. */
  make(): Reference {
    const ref = new Reference(this.node, this.creation, [this.word0, this.word1, this.word2]);
    if (++this.word0 === WORD0_LIMIT) {
      this.word0 = 0;
      if (++this.word1 === WORD_LIMIT) {
        this.word1 = 0;
        this.word2 = (this.word2 + 1) % WORD_LIMIT;
      }
    }
    return ref;
  }

  /** @internal tests: start the counter at these words, to see the carries happen. */
  static startingAt(node: Atom, creation: number, words: [number, number, number]): RefMaker {
    const maker = new RefMaker(node, creation);
    [maker.word0, maker.word1, maker.word2] = words;
    return maker;
  }
}

/** One reference's entry in a RefMap bucket. */
interface RefEntry<V> {
  readonly ref: Reference;
  value: V;
  next: RefEntry<V> | undefined;
}

/**
 * A map keyed by references, compared by value (a reference that arrives from a peer
 * is a new object each time). Keyed by a number made of the first two words (18 + 32
 * bits, exact in a double) rather than a string built per lookup: a call looks up its
 * alias and monitor about five times. References that share those words (another
 * word 2, node or creation, or a peer's first word past 18 bits) share a bucket and
 * are told apart by equals().
 */
export class RefMap<V> {
  private readonly buckets = new Map<number, RefEntry<V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(ref: Reference): V | undefined {
    for (let e = this.buckets.get(bucketOf(ref)); e !== undefined; e = e.next) if (e.ref.equals(ref)) return e.value;
    return undefined;
  }

  has(ref: Reference): boolean {
    for (let e = this.buckets.get(bucketOf(ref)); e !== undefined; e = e.next) if (e.ref.equals(ref)) return true;
    return false;
  }

  set(ref: Reference, value: V): void {
    const key = bucketOf(ref);
    const first = this.buckets.get(key);
    for (let e = first; e !== undefined; e = e.next) {
      if (e.ref.equals(ref)) {
        e.value = value;
        return;
      }
    }
    this.buckets.set(key, { ref, value, next: first });
    this.count++;
  }

  /** Removes the entry under `ref` and returns its value (undefined when there was none). */
  delete(ref: Reference): V | undefined {
    const key = bucketOf(ref);
    let prev: RefEntry<V> | undefined;
    for (let e = this.buckets.get(key); e !== undefined; prev = e, e = e.next) {
      if (!e.ref.equals(ref)) continue;
      if (prev !== undefined) prev.next = e.next;
      else if (e.next !== undefined) this.buckets.set(key, e.next);
      else this.buckets.delete(key);
      this.count--;
      return e.value;
    }
    return undefined;
  }

  /** The values, in no particular order. */
  *values(): IterableIterator<V> {
    for (const first of this.buckets.values()) for (let e: RefEntry<V> | undefined = first; e !== undefined; e = e.next) yield e.value;
  }
}

function bucketOf(r: Reference): number {
  const id = r.id;
  return (id[0] ?? 0) + (id[1] ?? 0) * WORD0_LIMIT;
}
