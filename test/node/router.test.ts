// The router on its own, with a stand-in for the way out: exits, monitors and links
// between local processes, system processes, and sends to unknown names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotRegisteredError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { Outbox } from '../../src/node/outbox.js';
import { RefMaker } from '../../src/node/refs.js';
import { Registry } from '../../src/node/registry.js';
import { Relations } from '../../src/node/relations.js';
import { Router } from '../../src/node/router.js';
import { atom, Pid, Tuple, tuple, type Term } from '../../src/term/types.js';

const LOCAL = 'ts@127.0.0.1';
const PEER = 'erl@127.0.0.2';

function makeRouter() {
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const logger: Logger = { debug: () => undefined, info: log, warn: log, error: log };
  const sent: Array<{ peer: string; control: Tuple; payload: Term | undefined }> = [];
  const outbox = new Outbox(
    { get: (peer) => ({ send: (control, payload) => (sent.push({ peer, control, payload }), true) }), connect: async () => ({ ok: true }) },
    { maxHeld: 10, logger, onConnectFailed: () => undefined },
  );
  const relations = new Relations(LOCAL);
  const router = new Router(new Registry(atom(LOCAL), 1), relations, outbox, new RefMaker(atom(LOCAL), 1), logger);
  return { router, relations, sent, logs };
}

const remote = new Pid(atom(PEER), 40, 0, 9);

test('kill from a peer is refused for system processes and logged; others die', () => {
  const { router, logs } = makeRouter();
  const rex = router.spawnSystem('rex');
  const worker = router.spawn();
  for (const p of [rex, worker]) router.onControl(PEER, { op: 'exit2', from: remote, to: p.pid, reason: atom('kill') });
  assert.equal(rex.alive, true);
  assert.equal(router.registry.whereis('rex'), rex);
  assert.equal(worker.alive, false);
  assert.equal(logs.filter((l) => l.includes('refused to kill system process rex')).length, 1);
  // A link exit (trapped) does not end it either.
  router.onControl(PEER, { op: 'link', from: remote, to: rex.pid });
  router.onControl(PEER, { op: 'exit', from: remote, to: rex.pid, reason: atom('boom') });
  assert.equal(rex.alive, true);
});

test('signals on behalf of another node are ignored', () => {
  const { router } = makeRouter();
  const worker = router.spawn();
  router.onControl('mallory@127.0.0.9', { op: 'exit2', from: remote, to: worker.pid, reason: atom('kill') });
  assert.equal(worker.alive, true);
});

test('an exit fires its own monitors and links only, and leaves no entries behind', async () => {
  const { router, relations, sent } = makeRouter();
  const a = router.spawn();
  const b = router.spawn();
  const watcher = router.spawn();
  const ref = watcher.monitor(a.pid);
  watcher.monitor(b.pid);
  b.trapExit = true;
  b.link(a.pid);
  router.onControl(PEER, { op: 'monitor', from: remote, target: a.pid, ref: new RefMaker(atom(PEER), 9).make() });
  a.exit(atom('crashed'));
  const down = (await watcher.receive(500)) as Tuple;
  assert.deepEqual([down[0], down[1], down[4]], [atom('DOWN'), ref, atom('crashed')]);
  assert.deepEqual(await b.receive(500), tuple(atom('EXIT'), a.pid, atom('crashed')));
  assert.equal(sent.filter((s) => s.control[0] === 28).length, 1, 'the remote watcher got PAYLOAD_MONITOR_P_EXIT');
  assert.equal(watcher.queued, 0, 'the monitor of b did not fire');
  b.exit();
  watcher.exit();
  assert.deepEqual(relations.size, { links: 0, monitors: 0, watched: 0, watchedFromPeers: 0 });
});

test('fireDownNow (erpc answering): one DOWN, sent before the exit, and no entry left behind; a peer DEMONITOR leaves none either', () => {
  const { router, relations, sent } = makeRouter();
  const refs = new RefMaker(atom(PEER), 9);
  for (let i = 0; i < 3; i++) {
    const p = router.spawn();
    const ref = refs.make();
    router.watch(p, remote, ref);
    assert.equal(router.fireDownNow(p, ref, tuple(ref, atom('return'), i)), true);
    assert.equal(router.fireDownNow(p, ref, atom('again')), false, 'that monitor has fired');
    p.exit(tuple(ref, atom('return'), i));
  }
  const downs = sent.filter((s) => s.control[0] === 28);
  assert.deepEqual(
    downs.map((s) => (s.payload as Tuple)[2]),
    [0, 1, 2],
    'one PAYLOAD_MONITOR_P_EXIT per process, with its result',
  );
  const watched = router.spawn();
  const ref = refs.make();
  router.onControl(PEER, { op: 'monitor', from: remote, target: watched.pid, ref });
  router.onControl(PEER, { op: 'demonitor', from: remote, target: watched.pid, ref });
  assert.deepEqual(relations.size, { links: 0, monitors: 0, watched: 0, watchedFromPeers: 0 });
  watched.exit();
});

test('a monitor of a local process that does not exist fires noproc and is not kept', async () => {
  const { router, relations } = makeRouter();
  const p = router.spawn();
  p.monitor('nobody');
  const down = (await p.receive(500)) as Tuple;
  assert.equal(down[4], atom('noproc'));
  assert.equal(relations.size.monitors, 0);
});

test('Name ! Msg to a name nobody holds is an error, as badarg is; {Name, node()} ! Msg is dropped', () => {
  const { router } = makeRouter();
  const p = router.spawn();
  assert.throws(() => p.send('nobody', 1), NotRegisteredError);
  assert.equal(p.send({ name: 'nobody', node: LOCAL }, 1), true);
});

test('nodedown fires monitors and links to that node only', async () => {
  const { router, relations } = makeRouter();
  const p = router.spawn();
  p.trapExit = true;
  const ref = p.monitor({ name: 'server', node: PEER });
  p.monitor({ name: 'server', node: 'other@127.0.0.3' });
  p.link(remote);
  router.nodeDown(PEER);
  const got = [await p.receive(500), await p.receive(500)] as Tuple[];
  assert.deepEqual(got[0], tuple(atom('DOWN'), ref, atom('process'), tuple(atom('server'), atom(PEER)), atom('noconnection')));
  assert.deepEqual(got[1], tuple(atom('EXIT'), remote, atom('noconnection')));
  assert.equal(relations.size.monitors, 1, 'the monitor on the other node stays');
});

test('a stand-in inbox (a call) is not indexed by owner, yet its monitor fires on nodedown; a process exit takes its own monitors', () => {
  const { router, relations } = makeRouter();
  const self = router.spawn();
  const got: Term[] = [];
  const standIn = { pid: self.pid, deliver: (m: Term) => got.push(m) };
  const remote = new Pid(atom(PEER), 5, 0, 1);
  const ref = router.monitor(standIn, remote);
  assert.equal(relations.size.monitors, 1);
  router.nodeDown(PEER);
  assert.equal(got.length, 1);
  const down = got[0] as Tuple;
  assert.ok(down[0] === atom('DOWN') && (down[1] as typeof ref).equals(ref) && down[4] === atom('noconnection'));
  assert.equal(relations.size.monitors, 0);

  const watcher = router.spawn();
  watcher.monitor(remote);
  watcher.monitor(new Pid(atom(PEER), 6, 0, 1));
  assert.equal(relations.size.monitors, 2);
  watcher.exit();
  assert.equal(relations.size.monitors, 0, 'the exit took the monitors its process held');
});
