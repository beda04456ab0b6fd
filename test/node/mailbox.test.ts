// Selective receive: non-matching messages stay, in order; timeouts; close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotRunningError, TimeoutError } from '../../src/errors.js';
import { Mailbox } from '../../src/node/mailbox.js';
import { atom, Pid } from '../../src/term/types.js';

test('selective receive leaves the others in order', async () => {
  const m = new Mailbox();
  for (const x of [1, 2, 3, 4]) m.deliver(x);
  assert.equal(await m.receive((x) => x === 3), 3);
  assert.equal(await m.receive(), 1);
  assert.equal(await m.receive(), 2);
  assert.equal(await m.receive(), 4);
  assert.equal(m.size, 0);
});

test('a waiting receive takes the first matching message that arrives', async () => {
  const m = new Mailbox();
  const got = m.receive((x) => x === 'b', 1000);
  m.deliver('a');
  m.deliver('b');
  assert.equal(await got, 'b');
  assert.equal(await m.receive(undefined, 0), 'a');
});

test('timeouts reject with TimeoutError and leave no waiter behind', async () => {
  const m = new Mailbox();
  await assert.rejects(m.receive(undefined, 20), TimeoutError);
  await assert.rejects(m.receive(undefined, 0), TimeoutError);
  m.deliver('late');
  assert.equal(m.size, 1, 'the expired receive did not swallow it');
});

test('close ends pending receives and refuses new ones', async () => {
  const m = new Mailbox();
  const pending = m.receive();
  m.close();
  await assert.rejects(pending, NotRunningError);
  await assert.rejects(m.receive(), NotRunningError);
});

test('a long queue taken from the front stays linear', async () => {
  const m = new Mailbox();
  for (let i = 0; i < 200_000; i++) m.deliver(i);
  const t0 = Date.now();
  for (let i = 0; i < 200_000; i++) assert.equal(await m.receive(), i);
  assert.ok(Date.now() - t0 < 5000);
});

test('a matcher that throws ends its own receive; delivery goes on to the others', async () => {
  const m = new Mailbox();
  const bad = m.receive(() => {
    throw new Error('matcher bug');
  }, 1000);
  const good = m.receive((x) => x === 'a', 1000);
  m.deliver('a');
  await assert.rejects(bad, /matcher bug/);
  assert.equal(await good, 'a');
  m.deliver('b');
  await assert.rejects(
    m.receive(() => {
      throw new Error('again');
    }),
    /again/,
  );
  assert.equal(m.size, 1, 'b stays');
});

test('the error of a closed mailbox names its owner, for pending receives and later ones', async () => {
  const owner = new Pid(atom('ts@127.0.0.1'), 42, 0, 1);
  const m = new Mailbox();
  const pending = m.receive();
  m.close(owner);
  const named = (err: unknown) => err instanceof NotRunningError && err.message === `process ${owner} has exited`;
  await assert.rejects(pending, named);
  await assert.rejects(m.receive(), named);
  const unnamed = new Mailbox();
  unnamed.close();
  await assert.rejects(unnamed.receive(), (err: unknown) => err instanceof NotRunningError && err.message === 'process has exited');
});
