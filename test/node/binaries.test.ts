// Which way a payload from a peer is decoded, from its control message alone: the mode
// of the local process (or call) a SEND, REG_SEND or ALIAS_SEND goes to, in every
// form; the node's for a SPAWN_REQUEST (erpc's arguments); Buffers for exit reasons
// and for messages nobody receives. And asReceived, what rex uses for what it relays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asReceived, receiverBinaries } from '../../src/node/binaries.js';
import { DOP } from '../../src/distribution/control.js';
import { Process, type ProcessHost } from '../../src/node/process.js';
import { RefMaker } from '../../src/node/refs.js';
import { Registry } from '../../src/node/registry.js';
import { atom, Pid, tuple, type Term } from '../../src/term/types.js';

const NODE = atom('ts@127.0.0.1');
const host = { exited: () => undefined } as unknown as ProcessHost;

test('receiverBinaries: the receiver of every payload-carrying control message', () => {
  const r = new Registry(NODE, 3);
  const refs = new RefMaker(NODE, 3);
  const strings = new Process(r.newPid(), host, 'utf8');
  const plain = new Process(r.newPid(), host);
  r.add(strings);
  r.add(plain);
  r.register('strings', strings);
  r.register('plain', plain);
  const alias = refs.make();
  r.addAlias(alias, { pid: plain.pid, binaries: 'utf8-keys', deliver: () => undefined });
  const peer = new Pid(atom('erl@127.0.0.2'), 1, 0, 1);
  const nobody = new Pid(NODE, 999, 0, 3);
  const empty = atom('');
  const token = atom('token');
  const cases: [string, Term[], string | undefined][] = [
    ['SEND', [DOP.SEND, empty, strings.pid], 'utf8'],
    ['SEND_TT', [DOP.SEND_TT, empty, strings.pid, token], 'utf8'],
    ['SEND_SENDER', [DOP.SEND_SENDER, peer, strings.pid], 'utf8'],
    ['SEND_SENDER_TT', [DOP.SEND_SENDER_TT, peer, strings.pid, token], 'utf8'],
    ['SEND_SENDER to a default process', [DOP.SEND_SENDER, peer, plain.pid], 'buffer'],
    ['SEND_SENDER to nobody', [DOP.SEND_SENDER, peer, nobody], undefined],
    ['REG_SEND', [DOP.REG_SEND, peer, empty, atom('strings')], 'utf8'],
    ['REG_SEND_TT', [DOP.REG_SEND_TT, peer, empty, atom('strings'), token], 'utf8'],
    ['REG_SEND to a default process', [DOP.REG_SEND, peer, empty, atom('plain')], 'buffer'],
    ['REG_SEND to no such name', [DOP.REG_SEND, peer, empty, atom('nobody')], undefined],
    ['ALIAS_SEND', [DOP.ALIAS_SEND, peer, alias], 'utf8-keys'],
    ['ALIAS_SEND_TT', [DOP.ALIAS_SEND_TT, peer, alias, token], 'utf8-keys'],
    ['ALIAS_SEND to a removed alias', [DOP.ALIAS_SEND, peer, refs.make()], undefined],
    ['SPAWN_REQUEST', [DOP.SPAWN_REQUEST, refs.make(), peer, peer, tuple(atom('erpc'), atom('execute_call'), 4), []], 'utf8'],
    ['SPAWN_REQUEST_TT', [DOP.SPAWN_REQUEST_TT, refs.make(), peer, peer, tuple(atom('erpc'), atom('execute_call'), 4), [], token], 'utf8'],
    // Exit reasons stay Buffers, even for a process that takes strings.
    ['PAYLOAD_EXIT', [DOP.PAYLOAD_EXIT, peer, strings.pid], undefined],
    ['PAYLOAD_EXIT_TT', [DOP.PAYLOAD_EXIT_TT, peer, strings.pid, token], undefined],
    ['PAYLOAD_EXIT2', [DOP.PAYLOAD_EXIT2, peer, strings.pid], undefined],
    ['PAYLOAD_EXIT2_TT', [DOP.PAYLOAD_EXIT2_TT, peer, strings.pid, token], undefined],
    ['PAYLOAD_MONITOR_P_EXIT', [DOP.PAYLOAD_MONITOR_P_EXIT, peer, strings.pid, refs.make()], undefined],
  ];
  for (const [name, control, want] of cases) assert.equal(receiverBinaries(tuple(...control), r, 'utf8'), want, name);
});

test('asReceived: a Buffer-decoded term as a receiver in each mode would have had it', () => {
  const m = new Map<Term, Term>([
    [Buffer.from('k'), Buffer.from('v')],
    [Buffer.from([0xff]), [Buffer.from('in a list')]],
  ]);
  const term = tuple(atom('msg'), m);
  assert.equal(asReceived(term, 'buffer'), term, 'buffer: the same object, no copy');
  assert.equal(asReceived(term, undefined), term);
  const keys = asReceived(term, 'utf8-keys') as Term[];
  const km = keys[1] as Map<Term, Term>;
  assert.deepEqual(km.get('k'), Buffer.from('v'));
  assert.ok([...km.keys()].some((k) => Buffer.isBuffer(k) && k.equals(Buffer.from([0xff]))), 'not UTF-8: stays a Buffer');
  const all = asReceived(term, 'utf8') as Term[];
  const am = all[1] as Map<Term, Term>;
  assert.equal(am.get('k'), 'v');
  assert.deepEqual([...am.values()][1], ['in a list']);
});
