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

/** A string that identifies a reference, for use as a Map key. */
export function refKey(r: Reference): string {
  return `${r.node.name}/${r.creation}/${r.id.join('.')}`;
}
