// BusyWait keeps the event loop polling (a ref'd setImmediate pending) for its window
// after a write, then lets it sleep again; stop() ends it at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyWait } from '../../src/distribution/busy-wait.js';

const polling = () => process.getActiveResourcesInfo().includes('Immediate');

test('after a write the loop polls for the window, then sleeps again', async () => {
  const wait = new BusyWait(1000);
  assert.equal(polling(), false);
  wait.afterWrite();
  assert.equal(polling(), true);
  // Every poll re-arms until the window has passed; 50 ms is far past a 1 ms window.
  await sleep(50);
  assert.equal(polling(), false);
  // A later write opens a new window.
  wait.afterWrite();
  assert.equal(polling(), true);
  wait.stop();
});

test('writes within the window extend it without stacking polls', async () => {
  const wait = new BusyWait(5000);
  for (let i = 0; i < 100; i++) wait.afterWrite();
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length, 1);
  wait.stop();
  assert.equal(polling(), false);
});

test('stop() ends a window at once, and a stopped wait polls again only after a new write', async () => {
  const wait = new BusyWait(10_000);
  wait.afterWrite();
  wait.stop();
  assert.equal(polling(), false);
  await sleep(1);
  assert.equal(polling(), false);
});
