// A pg scope with a stand-in for the way out: what it sends for each message pg sends
// (docs/pg-protocol.md), and that malformed or unexpected input changes nothing and
// makes it send nothing (a real pg scope would crash on what we then sent it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOP } from '../../src/distribution/control.js';
import type { Logger } from '../../src/logger.js';
import { Outbox } from '../../src/node/outbox.js';
import { buildDiscover, buildJoin, buildLeave, buildSync, parsePgMessage } from '../../src/node/pg/messages.js';
import { Membership, type PgEvent } from '../../src/node/pg/membership.js';
import { PgScope } from '../../src/node/pg/scope.js';
import { RefMaker } from '../../src/node/refs.js';
import { Registry } from '../../src/node/registry.js';
import { Relations } from '../../src/node/relations.js';
import { Router } from '../../src/node/router.js';
import { atom, ImproperList, Pid, Reference, Tuple, tuple, type Term } from '../../src/term/types.js';

const LOCAL = 'ts@127.0.0.1';
const PEER = 'erl@127.0.0.2';
const peerScope = new Pid(atom(PEER), 70, 0, 9);
const peerMember = new Pid(atom(PEER), 71, 0, 9);
const GEN_CAST = atom('$gen_cast');

function makeScope() {
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const logger: Logger = { debug: log, info: log, warn: log, error: log };
  const sent: Array<{ control: Tuple; payload: Term | undefined }> = [];
  const outbox = new Outbox(
    { get: () => ({ send: (control, payload) => (sent.push({ control, payload }), true) }), connect: async () => ({ ok: true }) },
    { maxHeld: 10, logger, onConnectFailed: () => undefined },
  );
  const router = new Router(new Registry(atom(LOCAL), 1), new Relations(LOCAL), outbox, new RefMaker(atom(LOCAL), 1), logger);
  const scope = PgScope.start('pg', { router, logger, visibleNodes: () => [], connected: () => true });
  const deliver = async (m: Term) => {
    router.registry.whereis('pg')!.deliver(m);
    await new Promise((r) => setImmediate(r)); // the scope serves its mailbox in its own turn
  };
  /** Messages (not monitors) sent, as [to, payload]. */
  const messages = () => sent.filter((s) => s.control[0] === DOP.SEND_SENDER || s.control[0] === DOP.REG_SEND).map((s) => [s.control[s.control.length - 1], s.payload] as const);
  return { router, scope, sent, messages, deliver, logs };
}

test('messages: each build parses back; the version-3 discover is read; malformed ones are none', () => {
  const self = peerScope;
  assert.deepEqual(parsePgMessage(buildDiscover(self)), { type: 'discover', peer: self });
  assert.deepEqual(parsePgMessage(tuple(atom('discover'), self, 1)), { type: 'discover', peer: self });
  assert.deepEqual(parsePgMessage(buildSync(self, [{ group: atom('g'), pids: [peerMember] }])), { type: 'sync', peer: self, groups: [{ group: atom('g'), pids: [peerMember] }] });
  assert.deepEqual(parsePgMessage(buildJoin(self, 'g', peerMember)), { type: 'join', peer: self, group: 'g', pids: [peerMember] });
  assert.deepEqual(buildJoin(self, 'g', peerMember)[3], peerMember, 'one pid goes as a pid, as pg sends it');
  assert.deepEqual(parsePgMessage(buildLeave(self, [peerMember], ['g'])), { type: 'leave', peer: self, pids: [peerMember], groups: ['g'] });
  for (const bad of [
    tuple(atom('discover'), 'not a pid'),
    tuple(atom('discover'), self, 1, 2),
    tuple(GEN_CAST, tuple(atom('sync'), self, tuple())),
    tuple(GEN_CAST, tuple(atom('sync'), self, [tuple(atom('g'), [1])])),
    tuple(GEN_CAST, tuple(atom('sync'), self, [tuple(atom('g'), peerMember)])),
    tuple(atom('join'), self, 'g', [peerMember, 'x']),
    tuple(atom('join'), self, 'g', new ImproperList([peerMember], peerMember)),
    tuple(atom('leave'), self, peerMember, 'g'),
    [atom('discover'), self],
  ]) {
    assert.equal(parsePgMessage(bad), undefined, String(bad));
  }
});

test('a discover is answered with our sync and a discover back, and the peer scope is monitored', async () => {
  const { router, scope, sent, messages, deliver } = makeScope();
  const p = router.spawn();
  scope.join(atom('g'), [p, p]);
  await deliver(buildDiscover(peerScope));
  const [sync, discover] = messages();
  assert.ok((sync[0] as Pid).equals(peerScope));
  assert.deepEqual(parsePgMessage(sync[1]!), { type: 'sync', peer: scope.pid, groups: [{ group: atom('g'), pids: [p.pid, p.pid] }] });
  assert.deepEqual(discover[1], buildDiscover(scope.pid));
  assert.equal(sent.filter((s) => s.control[0] === DOP.MONITOR_P).length, 1);
  // A second discover from a known peer: a sync only.
  await deliver(tuple(atom('discover'), peerScope, 1));
  assert.equal(messages().length, 3);
});

test('a sync from a peer we did not know is answered with our sync before anything else', async () => {
  const { router, scope, messages, deliver } = makeScope();
  const p = router.spawn();
  scope.join(atom('g'), p);
  await deliver(buildSync(peerScope, [{ group: atom('g'), pids: [peerMember] }]));
  // Without it, the leave below would reach a scope that has not heard of our group 'g'
  // from us: pg's leave_remote crashes on that (maps:get -> badkey).
  assert.deepEqual(messages().map(([, m]) => parsePgMessage(m!)?.type), ['sync']);
  assert.equal(scope.leave(atom('g'), p), 'ok');
  assert.deepEqual(messages().map(([, m]) => parsePgMessage(m!)?.type), ['sync', 'leave']);
  assert.deepEqual(scope.getMembers(atom('g')).map(String), [peerMember.toString()]);
});

test('joins and leaves from peers: only their own members, only groups they told us of', async () => {
  const { scope, messages, deliver } = makeScope();
  await deliver(buildDiscover(peerScope));
  const before = messages().length;
  const stranger = new Pid(atom('other@127.0.0.9'), 5, 0, 1);
  await deliver(buildJoin(peerScope, atom('g'), [peerMember, stranger]));
  assert.deepEqual(scope.getMembers(atom('g')).map(String), [peerMember.toString()]);
  await deliver(buildLeave(peerScope, [peerMember], [atom('never-told'), atom('g'), atom('g')]));
  assert.deepEqual(scope.whichGroups(), []);
  // A join from a scope that never discovered us is ignored, as pg does.
  await deliver(buildJoin(new Pid(atom(PEER), 99, 0, 9), atom('g'), peerMember));
  assert.deepEqual(scope.whichGroups(), []);
  assert.equal(messages().length, before, 'nothing is sent in answer to joins and leaves');
});

test('anything else sent to the scope changes nothing and is not answered', async () => {
  const { router, scope, sent, deliver } = makeScope();
  for (const m of [atom('hello'), tuple(GEN_CAST, atom('x')), tuple(atom('$gen_call'), tuple(peerScope, new Reference(atom(PEER), 9, [1, 2, 3])), atom('monitor')), tuple(atom('join'), peerScope), tuple(atom('discover'), scope.pid)]) {
    await deliver(m);
  }
  assert.equal(sent.length, 0);
  assert.equal(router.registry.whereis('pg')?.pid.equals(scope.pid), true);
});

test('a joined local process that exits leaves each group once per join, and the peers are told so', async () => {
  const { router, scope, messages, deliver } = makeScope();
  await deliver(buildDiscover(peerScope));
  const p = router.spawn();
  scope.join(atom('a'), p);
  scope.join(atom('a'), p);
  scope.join('b', [p]);
  assert.equal(scope.join(atom('c'), []), undefined);
  const before = messages().length;
  assert.equal(before, 2 + 3, 'no join goes out for an empty list (pg would make an empty group)');
  p.exit(atom('boom'));
  await new Promise((r) => setImmediate(r));
  const last = parsePgMessage(messages()[before][1]!);
  assert.deepEqual(last, { type: 'leave', peer: scope.pid, pids: [p.pid], groups: ['b', atom('a'), atom('a')] });
  assert.deepEqual(scope.whichGroups(), []);
});

test('only local processes join; a listener that throws is logged and the others still run', async () => {
  const { router, scope, logs } = makeScope();
  assert.throws(() => scope.join(atom('g'), peerMember), TypeError);
  const seen: PgEvent[] = [];
  scope.monitorScope(() => {
    throw new Error('listener bug');
  });
  const m = scope.monitor(atom('g'), (e) => seen.push(e));
  const p = router.spawn();
  scope.join(atom('g'), p);
  assert.equal(seen.length, 1);
  assert.ok(logs.some((l) => l.includes('listener bug')));
  assert.equal(m.demonitor(), true);
  assert.equal(m.demonitor(), false);
});

test('membership: a peer going down takes its members, and only with the monitor that watched it', () => {
  const events: PgEvent[] = [];
  const table = new Membership((e) => events.push(e));
  const ref = new Reference(atom(LOCAL), 1, [1, 2, 3]);
  table.addPeer(peerScope, ref);
  table.syncPeer(peerScope, [{ group: tuple(atom('room'), 1), pids: [peerMember] }]);
  assert.equal(table.members(tuple(atom('room'), 1)).length, 1);
  assert.equal(table.peerDown(peerScope, new Reference(atom(LOCAL), 1, [9, 9, 9])), false);
  assert.equal(table.peerDown(peerScope, ref), true);
  assert.deepEqual(table.whichGroups(), []);
  assert.deepEqual(events.map((e) => e.type), ['join', 'leave']);
});

test("a listener that leaves on its own join: the peers get the join before the leave", async () => {
  const { router, scope, messages, deliver } = makeScope();
  await deliver(buildDiscover(peerScope));
  const p = router.spawn();
  scope.monitor(atom('g'), (e) => {
    if (e.type === 'join') scope.leave(atom('g'), p);
  });
  scope.join(atom('g'), p);
  assert.deepEqual(messages().slice(2).map(([, m]) => parsePgMessage(m!)?.type), ['join', 'leave']);
  assert.deepEqual(scope.whichGroups(), []);
});
