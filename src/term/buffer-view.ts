/**
 * How a decoded binary becomes a Buffer, as cheaply as Node allows: a view of the input
 * (bufferView) or, for a small binary of a large input, a copy (smallCopy). The decoder
 * makes one for every binary, so this is the floor of decoding binary-heavy terms.
 *
 * `Buffer.from(arrayBuffer, offset, length)` checks its arguments and then constructs
 * Node's internal Buffer class; `buf.subarray` goes through the species lookup to the
 * same class. That class is `Buffer[Symbol.species]` (Node defines the getter so that
 * typed-array methods make Buffers): constructing it directly costs about half of
 * `Buffer.from` (20 against 37 ns a view on Node 20), and its instances are ordinary
 * Buffers (`Buffer.isBuffer`, `instanceof Buffer`, every Buffer method). Should a Node
 * ever not provide it, `Buffer.from` is used instead.
 */
type BufferViewConstructor = new (memory: ArrayBufferLike, offset: number, length: number) => Buffer;

function speciesConstructor(): BufferViewConstructor | undefined {
  const species = (Buffer as unknown as { [Symbol.species]?: unknown })[Symbol.species];
  if (typeof species !== 'function' || species === Buffer) return undefined;
  try {
    const probe = new (species as BufferViewConstructor)(new ArrayBuffer(4), 1, 2);
    return Buffer.isBuffer(probe) && probe.byteOffset === 1 && probe.length === 2 ? (species as BufferViewConstructor) : undefined;
  } catch {
    return undefined;
  }
}

const SpeciesBuffer = speciesConstructor();

/** A Buffer viewing `length` bytes of `memory` from `offset` (already checked to be inside it). */
export const bufferView: (memory: ArrayBufferLike, offset: number, length: number) => Buffer =
  SpeciesBuffer === undefined ? (memory, offset, length) => Buffer.from(memory, offset, length) : (memory, offset, length) => new SpeciesBuffer(memory, offset, length);

/**
 * Copies of small binaries (out of large inputs, which views would pin) are views of a
 * shared arena, as Buffer.allocUnsafe's are of Node's pool: no byte of an arena is
 * written twice, and a kept copy pins its arena's 8 KiB, no more. Against allocUnsafe
 * (its size checks, pool alignment) this saves about 14 ns a binary.
 */
const ARENA_SIZE = 8 * 1024;
let arena = new ArrayBuffer(ARENA_SIZE);
let arenaBytes = new Uint8Array(arena);
let arenaUsed = 0;

/** A Buffer holding a copy of `length` bytes of `buf` from `offset` (checked to be there; length < ARENA_SIZE). */
export function smallCopy(buf: Buffer, offset: number, length: number): Buffer {
  if (length > ARENA_SIZE - arenaUsed) {
    arena = new ArrayBuffer(ARENA_SIZE);
    arenaBytes = new Uint8Array(arena);
    arenaUsed = 0;
  }
  const at = arenaUsed;
  for (let i = 0; i < length; i++) arenaBytes[at + i] = buf[offset + i];
  arenaUsed = at + length;
  return bufferView(arena, at, length);
}
