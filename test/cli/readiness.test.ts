// /readyz's rule: started, first round finished, then --ready-min-peers N or --ready-lookup (either is enough).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readiness, type ReadinessInput } from '../../src/cli/readiness.js';

const RAN: ReadinessInput = { phase: 'running', ignoring: false, ran: true, peers: 0, lookupErrors: [] };
const FAILED_LOOKUP = [{ query: 'app.internal', error: 'queryA ESERVFAIL app.internal' }];

test('not ready while starting, stopping, or before the first round; ready at once without a query', () => {
  assert.deepEqual(readiness({ lookup: false }, { ...RAN, phase: 'starting' }), { ready: false, reason: 'starting' });
  assert.deepEqual(readiness({ lookup: false }, { ...RAN, phase: 'stopping' }), { ready: false, reason: 'stopping' });
  assert.deepEqual(readiness({ lookup: false }, { ...RAN, ran: false }), { ready: false, reason: 'the first discovery round has not finished' });
  assert.equal(readiness({ minPeers: 3, lookup: true }, { ...RAN, ran: false, ignoring: true }).ready, true);
});

test('without conditions a finished round is enough; with them, either condition', () => {
  assert.equal(readiness({ lookup: false }, { ...RAN, lookupErrors: FAILED_LOOKUP }).ready, true);
  const peers = readiness({ minPeers: 2, lookup: false }, { ...RAN, peers: 1 });
  assert.deepEqual(peers, { ready: false, reason: 'waiting for at least 2 connected: 1 node connected; the last DNS lookup succeeded' });
  assert.equal(readiness({ minPeers: 2, lookup: false }, { ...RAN, peers: 2 }).ready, true);
  const lookup = readiness({ lookup: true }, { ...RAN, lookupErrors: FAILED_LOOKUP });
  assert.equal(lookup.ready, false);
  assert.match(lookup.reason, /waiting for a successful DNS lookup: .*failed \(app.internal: queryA ESERVFAIL app.internal\)/);
  assert.equal(readiness({ lookup: true }, RAN).ready, true);
  // A cluster's first member: no peers yet, but DNS answered.
  assert.equal(readiness({ minPeers: 1, lookup: true }, RAN).ready, true);
  assert.equal(readiness({ minPeers: 1, lookup: true }, { ...RAN, peers: 1, lookupErrors: FAILED_LOOKUP }).ready, true);
  assert.equal(readiness({ minPeers: 1, lookup: true }, { ...RAN, lookupErrors: FAILED_LOOKUP }).ready, false);
});
