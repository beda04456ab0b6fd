// `{ global: Name }` destinations on the router, with the name lookup in the test's
// hands, so the orders that a live cluster makes only by chance (a later lookup
// answering first, a demonitor before the answer) are made on purpose. The same
// destinations against real OTP 25 and 27 nodes: test/interop/global.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotRegisteredError, NotRunningError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { Outbox } from '../../src/node/outbox.js';
import { RefMaker } from '../../src/node/refs.js';
import { Registry } from '../../src/node/registry.js';
import { Relations } from '../../src/node/relations.js';
import { Router } from '../../src/node/router.js';
import { atom, Pid, tuple } from '../../src/term/types.js';

const LOCAL = 'ts@127.0.0.1';

/** A router whose global lookups wait until the test answers them, one by one. */
function makeRouter() {
  const outbox = new Outbox({ get: () => undefined, connect: async () => ({ ok: true }) }, { maxHeld: 10, logger: silentLogger, onConnectFailed: () => undefined });
  const router = new Router(new Registry(atom(LOCAL), 1), new Relations(LOCAL), outbox, new RefMaker(atom(LOCAL), 1), silentLogger);
  const lookups: Array<{ name: string; answer: (pid: Pid | undefined) => void; fail: (err: Error) => void }> = [];
  router.globalLookup = (name) =>
    new Promise((answer, fail) => {
      lookups.push({ name, answer, fail });
    });
  return { router, lookups };
}

/** Lets every settled promise run its callbacks (a bounded number of turns). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

test('global sends from one process go out in the order made, even when a later lookup answers first', async () => {
  const { router, lookups } = makeRouter();
  const sender = router.spawn();
  const target = router.spawn();
  const first = sender.send({ global: 'svc' }, atom('one'));
  const second = sender.send({ global: 'svc' }, atom('two'));
  assert.equal(lookups.length, 2, 'both lookups asked at once');
  lookups[1]!.answer(target.pid);
  await flush();
  assert.equal(target.queued, 0, 'the second waits for the first');
  lookups[0]!.answer(target.pid);
  assert.equal(await first, target.pid);
  assert.equal(await second, target.pid);
  assert.equal(await target.receive(0), atom('one'));
  assert.equal(await target.receive(0), atom('two'));
});

test('a global send to a name nobody holds rejects with NotRegisteredError (global), and the sends after it still go', async () => {
  const { router, lookups } = makeRouter();
  const sender = router.spawn();
  const target = router.spawn();
  const lost = sender.send({ global: 'nobody' }, atom('lost'));
  const kept = sender.send({ global: 'svc' }, atom('kept'));
  lookups[1]!.answer(target.pid);
  lookups[0]!.answer(undefined);
  await assert.rejects(lost, (e: unknown) => e instanceof NotRegisteredError && e.global && e.registeredName === 'nobody' && e.code === 'ERR_NOT_REGISTERED');
  assert.equal(await kept, target.pid);
  assert.equal(await target.receive(0), atom('kept'));
  assert.equal(target.queued, 0);
});

test('a lookup that fails (the node stopped) fails that send and no other', async () => {
  const { router, lookups } = makeRouter();
  const sender = router.spawn();
  const target = router.spawn();
  const failed = sender.send({ global: 'svc' }, atom('a'));
  const later = sender.send({ global: 'svc' }, atom('b'));
  // The first lookup fails while nothing awaits it yet: that must not be an unhandled rejection.
  lookups[0]!.fail(new NotRunningError('stopped'));
  await flush();
  lookups[1]!.answer(target.pid);
  await assert.rejects(failed, NotRunningError);
  assert.equal(await later, target.pid);
});

test('a monitor of a name nobody holds gets DOWN with noproc and {global, Name}', async () => {
  const { router, lookups } = makeRouter();
  const owner = router.spawn();
  const ref = owner.monitor({ global: 'nobody' });
  assert.equal(lookups[0]!.name, 'nobody');
  lookups[0]!.answer(undefined);
  const down = await owner.receive(1000);
  assert.deepEqual(down, tuple(atom('DOWN'), ref, atom('process'), tuple(atom('global'), atom('nobody')), atom('noproc')));
});

test('a monitor of a global name watches the pid it resolved to: DOWN names the pid and carries its exit reason', async () => {
  const { router, lookups } = makeRouter();
  const owner = router.spawn();
  const target = router.spawn();
  const ref = owner.monitor({ global: 'svc' });
  lookups[0]!.answer(target.pid);
  await flush();
  assert.equal(owner.queued, 0, 'no DOWN while the process lives');
  target.exit(atom('bye'));
  assert.deepEqual(await owner.receive(1000), tuple(atom('DOWN'), ref, atom('process'), target.pid, atom('bye')));
});

test('a monitor removed before its lookup answers never fires, and neither does one whose owner exited', async () => {
  const { router, lookups } = makeRouter();
  const owner = router.spawn();
  const gone = router.spawn();
  const target = router.spawn();
  const ref = owner.monitor({ global: 'svc' });
  gone.monitor({ global: 'svc' });
  const missing = owner.monitor({ global: 'nobody' });
  owner.demonitor(ref);
  owner.demonitor(missing);
  gone.exit();
  lookups[0]!.answer(target.pid);
  lookups[1]!.answer(target.pid);
  lookups[2]!.answer(undefined);
  await flush();
  target.exit(atom('bye'));
  await flush();
  assert.equal(owner.queued, 0, 'neither the DOWN of the pid nor noproc arrived');
});
