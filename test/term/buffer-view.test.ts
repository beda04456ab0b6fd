import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferView } from '../../src/term/buffer-view.js';

test('bufferView is a plain Buffer over the memory it is given, no copy', () => {
  const memory = new ArrayBuffer(16);
  new Uint8Array(memory).set([1, 2, 3, 4, 5, 6], 0);
  const view = bufferView(memory, 2, 3);
  assert.equal(Object.getPrototypeOf(view), Buffer.prototype);
  assert.ok(Buffer.isBuffer(view) && view instanceof Buffer);
  assert.equal(view.buffer, memory);
  assert.equal(view.byteOffset, 2);
  assert.deepEqual(view, Buffer.from([3, 4, 5]), 'deepStrictEqual to a Buffer.from copy');
  assert.equal(view.toString('hex'), '030405', 'Buffer methods work');
  new Uint8Array(memory)[2] = 9;
  assert.equal(view[0], 9, 'a view, not a copy');
  // Typed-array methods on it still make Buffers (the species getter is left alone).
  assert.ok(Buffer.isBuffer(view.subarray(1)));
});

test('without Buffer[Symbol.species], bufferView falls back to Buffer.from and is still right', async () => {
  const species = Object.getOwnPropertyDescriptor(Buffer, Symbol.species);
  assert.ok(species?.configurable, 'Node defines the species getter as configurable');
  Object.defineProperty(Buffer, Symbol.species, { value: undefined, configurable: true });
  let fallback: typeof bufferView;
  try {
    // A second instance of the module (another URL), loaded while the species is missing.
    const secondInstance = '../../src/term/buffer-view.js?no-species';
    ({ bufferView: fallback } = (await import(secondInstance)) as { bufferView: typeof bufferView });
  } finally {
    Object.defineProperty(Buffer, Symbol.species, species!);
  }
  assert.notEqual(fallback, bufferView, 'a fresh module instance');
  // Which path each takes: count the calls of Buffer.from.
  const from = Buffer.from;
  let calls = 0;
  Buffer.from = function (this: unknown, ...args: unknown[]) {
    calls++;
    return (from as (...a: unknown[]) => Buffer).apply(this, args);
  } as typeof Buffer.from;
  const memory = new ArrayBuffer(8);
  let view: Buffer;
  try {
    view = fallback(memory, 1, 4);
    assert.equal(calls, 1, 'the fallback is Buffer.from');
    bufferView(memory, 1, 4);
    assert.equal(calls, 1, 'with the species, Buffer.from is not called');
  } finally {
    Buffer.from = from;
  }
  assert.ok(Buffer.isBuffer(view));
  assert.equal(view.buffer, memory);
  assert.equal(view.byteOffset, 1);
  assert.equal(view.length, 4);
});
