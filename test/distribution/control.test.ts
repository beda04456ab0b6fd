// parseControl: every form of a message collapses into one typed shape; a known
// operation with wrong fields is a protocol error (the connection drops), an unknown
// one is left to the caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOP, parseControl } from '../../src/distribution/control.js';
import { DistProtocolError } from '../../src/errors.js';
import { atom, Pid, Reference, tuple } from '../../src/term/types.js';

const A = new Pid(atom('a@h'), 1, 0, 1);
const B = new Pid(atom('b@h'), 2, 0, 1);
const REF = new Reference(atom('a@h'), 1, [1, 2, 3]);
const TOKEN = atom('token');
const E = atom('');

test('the send family: plain, trace token, with sender', () => {
  assert.deepEqual(parseControl(tuple(DOP.SEND, E, B), 'm', 'a@h'), { op: 'send', from: undefined, to: B, message: 'm' });
  assert.deepEqual(parseControl(tuple(DOP.SEND_TT, E, B, TOKEN), 'm', 'a@h'), { op: 'send', from: undefined, to: B, message: 'm' });
  assert.deepEqual(parseControl(tuple(DOP.SEND_SENDER, A, B), 'm', 'a@h'), { op: 'send', from: A, to: B, message: 'm' });
  assert.deepEqual(parseControl(tuple(DOP.REG_SEND_TT, A, E, atom('rex'), TOKEN), 'm', 'a@h'), {
    op: 'reg_send', from: A, name: atom('rex'), message: 'm',
  });
});

test('exits: the reason in the tuple or in the payload', () => {
  assert.deepEqual(parseControl(tuple(DOP.EXIT, A, B, atom('x')), undefined, 'a@h'), { op: 'exit', from: A, to: B, reason: atom('x') });
  assert.deepEqual(parseControl(tuple(DOP.EXIT_TT, A, B, TOKEN, atom('x')), undefined, 'a@h'), { op: 'exit', from: A, to: B, reason: atom('x') });
  assert.deepEqual(parseControl(tuple(DOP.PAYLOAD_EXIT2, A, B), atom('kill'), 'a@h'), { op: 'exit2', from: A, to: B, reason: atom('kill') });
  assert.deepEqual(parseControl(tuple(DOP.PAYLOAD_MONITOR_P_EXIT, atom('rex'), B, REF), atom('noproc'), 'a@h'), {
    op: 'monitor_exit', target: atom('rex'), to: B, ref: REF, reason: atom('noproc'),
  });
  assert.deepEqual(parseControl(tuple(DOP.UNLINK_ID, 7, A, B), undefined, 'a@h'), { op: 'unlink', id: 7, from: A, to: B });
});

test('a REG_SEND without its payload, a short tuple or a wrong field drops the connection', () => {
  const bad = [
    () => parseControl(tuple(DOP.REG_SEND, A, E, atom('rex')), undefined, 'a@h'),
    () => parseControl(tuple(DOP.SEND, E), 'm', 'a@h'),
    () => parseControl(tuple(DOP.LINK, A, atom('x')), undefined, 'a@h'),
    () => parseControl(tuple(DOP.MONITOR_P, A, B, 42), undefined, 'a@h'),
    () => parseControl(tuple(DOP.LINK, A, B), 'unexpected', 'a@h'),
    () => parseControl(tuple(DOP.SPAWN_REQUEST, REF, A, A, tuple(atom('m'), atom('f'), 1), []), tuple(1), 'a@h'),
  ];
  for (const f of bad) assert.throws(f, (e: unknown) => e instanceof DistProtocolError && e.message.startsWith('malformed control message'));
});

test('an operation we do not know is left to the caller', () => {
  assert.equal(parseControl(tuple(99, A), undefined, 'a@h'), undefined);
});
