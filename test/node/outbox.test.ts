// Signals to a node not yet connected wait, in order, for the connection; a failed
// connect drops them and tells the node; what is held is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../src/logger.js';
import { Outbox, type OutboundConnection } from '../../src/node/outbox.js';
import { tuple, type Term, type Tuple } from '../../src/term/types.js';

function recordingLogger(lines: string[]): Logger {
  const log = (m: string) => lines.push(m);
  return { debug: log, info: log, warn: log, error: log };
}

function harness(maxHeld = 100) {
  const sent: Term[] = [];
  const conns = new Map<string, OutboundConnection>();
  let finishConnect: (ok: boolean) => void = () => undefined;
  let connects = 0;
  const failed: string[] = [];
  const logs: string[] = [];
  const outbox = new Outbox(
    {
      get: (peer) => conns.get(peer),
      connect: () => {
        connects++;
        return new Promise((resolve) => (finishConnect = (ok) => resolve({ ok })));
      },
    },
    { maxHeld, logger: recordingLogger(logs), onConnectFailed: (peer) => failed.push(peer) },
  );
  const up = (peer: string) => {
    conns.set(peer, { send: (c: Tuple, p?: Term) => (sent.push(p ?? c[0]), true) });
    outbox.connected(peer); // what the node does on nodeup
  };
  return { outbox, sent, up, failed, logs, finish: (ok: boolean) => finishConnect(ok), connects: () => connects };
}

test('signals wait for the connection and go out first, in order', async () => {
  const h = harness();
  for (let i = 0; i < 5; i++) assert.equal(h.outbox.send('b@h', tuple(2), i), true);
  assert.equal(h.connects(), 1, 'one connect for all of them');
  assert.equal(h.outbox.heldFor('b@h'), 5);
  h.up('b@h');
  h.outbox.send('b@h', tuple(2), 5);
  h.finish(true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.sent, [0, 1, 2, 3, 4, 5]);
  assert.equal(h.outbox.heldFor('b@h'), 0);
});

test('a failed connect drops what was held and tells the node', async () => {
  const h = harness();
  h.outbox.send('b@h', tuple(19), 'monitor');
  h.finish(false);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.failed, ['b@h']);
  assert.equal(h.outbox.heldFor('b@h'), 0);
  assert.deepEqual(h.sent, []);
});

test('answers to a node that is not connected start no connect', () => {
  const h = harness();
  assert.equal(h.outbox.send('b@h', tuple(20), undefined, false), false);
  assert.equal(h.connects(), 0);
});

test('past the bound, signals are refused and that is logged once', () => {
  const h = harness(3);
  const results = Array.from({ length: 6 }, (_, i) => h.outbox.send('b@h', tuple(2), i));
  assert.deepEqual(results, [true, true, true, false, false, false]);
  assert.equal(h.logs.filter((l) => l.includes('signals wait for the connection')).length, 1);
});

test('a held payload that cannot be encoded fails its send at once, with its path; what was held before still goes out', async () => {
  const h = harness();
  h.outbox.send('b@h', tuple(2), 1);
  assert.throws(
    () => h.outbox.send('b@h', tuple(2), { items: [0, { b: undefined }] } as unknown as Term),
    (err: Error & { code?: string; path?: string }) => err.code === 'ERR_TERM_ENCODE' && err.path === 'payload.items[1].b',
  );
  assert.throws(() => h.outbox.send('c@h', tuple(2), (() => 1) as unknown as Term), { code: 'ERR_TERM_ENCODE' });
  assert.equal(h.outbox.heldFor('c@h'), 0, 'a first signal that fails holds nothing');
  assert.equal(h.outbox.heldFor('b@h'), 1);
  h.up('b@h');
  h.finish(true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.sent, [1]);
});

test('a held payload is copied when sent: a later change to the object does not travel (BEAM copies at send)', async () => {
  const h = harness();
  const list = [1, 2];
  h.outbox.send('b@h', tuple(2), list);
  list.push(3);
  h.up('b@h');
  h.finish(true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(h.sent, [[1, 2]]);
});
