// Control messages for a peer that lacks the flag of their newer form: each translation
// against the layouts of erl_dist_protocol.md, and nothing changed for a peer that has it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aliasSend, DOP, payloadExit, payloadExit2, payloadMonitorPExit, sendSender, unlinkId, unlinkIdAck } from '../../src/distribution/control.js';
import { downgrade, needsDowngrade } from '../../src/distribution/downgrade.js';
import { DFLAG_ALIAS, DFLAG_EXIT_PAYLOAD, DFLAG_SEND_SENDER, DFLAG_UNLINK_ID, DFLAGS_MANDATORY_OTP25, LOCAL_DIST_FLAGS } from '../../src/distribution/flags.js';
import { atom, Pid, Reference, tuple } from '../../src/term/types.js';

const from = new Pid(atom('a@h'), 1, 0, 1);
const to = new Pid(atom('b@h'), 2, 0, 1);
const ref = new Reference(atom('b@h'), 1, [1, 2, 3]);
const OLD = DFLAGS_MANDATORY_OTP25; // none of SEND_SENDER, EXIT_PAYLOAD, ALIAS, UNLINK_ID

test('only a peer that lacks one of the newer forms needs translating', () => {
  assert.equal(needsDowngrade(LOCAL_DIST_FLAGS), false);
  assert.equal(needsDowngrade(OLD), true);
  for (const flag of [DFLAG_SEND_SENDER, DFLAG_EXIT_PAYLOAD, DFLAG_ALIAS, DFLAG_UNLINK_ID]) {
    assert.equal(needsDowngrade(LOCAL_DIST_FLAGS & ~flag), true);
  }
});

test('each newer control message becomes its older equivalent', () => {
  assert.deepEqual(downgrade(sendSender(from, to), 'm', OLD), { control: tuple(DOP.SEND, atom(''), to), payload: 'm' });
  assert.deepEqual(downgrade(tuple(DOP.SEND_SENDER_TT, from, to, 7), 'm', OLD), { control: tuple(DOP.SEND_TT, atom(''), to, 7), payload: 'm' });
  assert.deepEqual(downgrade(payloadExit(from, to), atom('r'), OLD), { control: tuple(DOP.EXIT, from, to, atom('r')), payload: undefined });
  assert.deepEqual(downgrade(payloadExit2(from, to), atom('r'), OLD), { control: tuple(DOP.EXIT2, from, to, atom('r')), payload: undefined });
  assert.deepEqual(downgrade(tuple(DOP.PAYLOAD_EXIT_TT, from, to, 7), atom('r'), OLD), { control: tuple(DOP.EXIT_TT, from, to, 7, atom('r')), payload: undefined });
  assert.deepEqual(downgrade(tuple(DOP.PAYLOAD_EXIT2_TT, from, to, 7), atom('r'), OLD), { control: tuple(DOP.EXIT2_TT, from, to, 7, atom('r')), payload: undefined });
  assert.deepEqual(downgrade(payloadMonitorPExit(from, to, ref), atom('r'), OLD), { control: tuple(DOP.MONITOR_P_EXIT, from, to, ref, atom('r')), payload: undefined });
  assert.deepEqual(downgrade(unlinkId(5, from, to), undefined, OLD), { control: tuple(DOP.UNLINK, from, to), payload: undefined });
  assert.equal(downgrade(unlinkIdAck(5, from, to), undefined, OLD), undefined);
  assert.equal(downgrade(aliasSend(from, ref), 'm', OLD), undefined);
  // Messages with no newer form pass untouched.
  const link = tuple(DOP.LINK, from, to);
  assert.deepEqual(downgrade(link, undefined, OLD), { control: link, payload: undefined });
});

test('a peer that has the flag gets the newer form unchanged', () => {
  for (const [control, payload] of [[sendSender(from, to), 'm'], [payloadExit(from, to), 'r'], [unlinkId(5, from, to), undefined], [aliasSend(from, ref), 'm']] as const) {
    const out = downgrade(control, payload, LOCAL_DIST_FLAGS);
    assert.equal(out?.control, control);
    assert.equal(out?.payload, payload);
  }
});
