// A pg scope under random local joins, leaves and exits, and random (often malformed)
// input from peers, checked against a model of what a real pg scope on each peer holds
// for us (docs/pg-protocol.md §3-4): everything we send must be one of pg's own
// messages, and no leave may name a group that peer has not heard of from us, or
// a real pg scope would crash on it. Bounded: a fixed seed and step count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOP } from '../../src/distribution/control.js';
import type { Logger } from '../../src/logger.js';
import { Outbox } from '../../src/node/outbox.js';
import { buildDiscover, buildJoin, buildLeave, buildSync, parsePgMessage } from '../../src/node/pg/messages.js';
import { groupKey } from '../../src/node/pg/membership.js';
import { PgScope } from '../../src/node/pg/scope.js';
import type { Process } from '../../src/node/process.js';
import { RefMaker } from '../../src/node/refs.js';
import { Registry } from '../../src/node/registry.js';
import { Relations } from '../../src/node/relations.js';
import { Router } from '../../src/node/router.js';
import { atom, Pid, Tuple, tuple, type Term } from '../../src/term/types.js';

const LOCAL = 'ts@127.0.0.1';
const PEERS = ['a@127.0.0.2', 'b@127.0.0.3'];
const STEPS = 3000;

/** A small deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test(`pg scope: ${STEPS} random steps never send a peer anything a pg scope would crash on`, async () => {
  const rand = prng(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  // Messages only (monitors and demonitors of peer scopes and members also go out).
  const sent: Array<{ peer: string; message: Term }> = [];
  const isMessage = (control: Tuple) => control[0] === DOP.SEND_SENDER || control[0] === DOP.REG_SEND;
  const outbox = new Outbox(
    { get: (peer) => ({ send: (control: Tuple, payload?: Term) => (isMessage(control) && sent.push({ peer, message: payload! }), true) }), connect: async () => ({ ok: true }) },
    { maxHeld: 10, logger, onConnectFailed: () => undefined },
  );
  const router = new Router(new Registry(atom(LOCAL), 1), new Relations(LOCAL), outbox, new RefMaker(atom(LOCAL), 1), logger);
  const scope = PgScope.start('pg', { router, logger, visibleNodes: () => [], connected: () => true });
  const groups: Term[] = [atom('a'), atom('b'), 'c', tuple(atom('d'), 1)];
  const procs: Process[] = [];
  // Each peer node's scope pid (a new one after the node "restarts") and members.
  const peerScopes = PEERS.map((n, i) => new Pid(atom(n), 100 + i, 0, 1));
  const peerMembers = PEERS.map((n) => [1, 2, 3].map((id) => new Pid(atom(n), id, 0, 1)));
  // The model: what each peer's pg scope holds for us, by peer node (undefined: it does not know us).
  const views = new Map<string, Map<string, number> | undefined>();
  let checked = 0;

  const checkSent = () => {
    for (const { peer: peerNode, message } of sent.splice(0)) {
      const m = parsePgMessage(message);
      assert.ok(m !== undefined, `sent something that is not a pg message: ${String(message)}`);
      assert.ok(m.peer.equals(scope.pid));
      assert.ok(!(message instanceof Tuple && message[0] === atom('discover') && message.length !== 2), 'only the 2-tuple discover');
      let view = views.get(peerNode);
      switch (m.type) {
        case 'discover':
          if (view === undefined) views.set(peerNode, new Map());
          break;
        case 'sync':
          view = new Map();
          for (const g of m.groups) {
            assert.ok(g.pids.length > 0, 'no empty group in a sync');
            view.set(groupKey(g.group), g.pids.length);
          }
          views.set(peerNode, view);
          break;
        case 'join':
          assert.ok(m.pids.length > 0, 'no join without pids (pg would make an empty group)');
          if (view !== undefined) view.set(groupKey(m.group), (view.get(groupKey(m.group)) ?? 0) + m.pids.length);
          break;
        case 'leave':
          if (view === undefined) break; // a pg scope ignores a leave from a peer it does not know
          for (const g of m.groups) {
            const held = view.get(groupKey(g));
            assert.ok(held !== undefined, `a leave for ${String(g)}, which ${peerNode} has not heard of from us: its pg scope would crash (badkey)`);
            checked++;
            const left = held - m.pids.length; // our leaves only name pids that joined
            if (left <= 0) view.delete(groupKey(g));
            else view.set(groupKey(g), left);
          }
          break;
      }
    }
  };

  for (let step = 0; step < STEPS; step++) {
    const i = Math.floor(rand() * PEERS.length);
    const peer = peerScopes[i];
    const r = rand();
    if (r < 0.25) {
      if (procs.length < 6 || rand() < 0.3) procs.push(router.spawn());
      const who = rand() < 0.7 ? pick(procs) : [pick(procs), pick(procs)];
      scope.join(pick(groups), (Array.isArray(who) ? who : [who]).filter((p) => p.alive));
    } else if (r < 0.4 && procs.length > 0) {
      scope.leave(pick(groups), pick(procs).alive ? pick(procs) : []);
    } else if (r < 0.47 && procs.length > 0) {
      const p = pick(procs);
      p.exit(atom('boom'));
      procs.splice(procs.indexOf(p), 1);
    } else if (r < 0.55) {
      router.registry.whereis('pg')!.deliver(rand() < 0.5 ? buildDiscover(peer) : tuple(atom('discover'), peer, 2));
    } else if (r < 0.65) {
      const gs = groups.filter(() => rand() < 0.5).map((group) => ({ group, pids: peerMembers[i].filter(() => rand() < 0.6) }));
      router.registry.whereis('pg')!.deliver(buildSync(peer, gs));
      // A pg scope casts its sync only in answer to our discover, after which it holds us (with no groups yet).
      if (views.get(PEERS[i]) === undefined) views.set(PEERS[i], new Map());
    } else if (r < 0.75) {
      router.registry.whereis('pg')!.deliver(buildJoin(peer, pick(groups), rand() < 0.5 ? pick(peerMembers[i]) : [pick(peerMembers[i])]));
    } else if (r < 0.85) {
      router.registry.whereis('pg')!.deliver(buildLeave(peer, pick(peerMembers[i]), groups.filter(() => rand() < 0.5)));
    } else if (r < 0.9) {
      // The peer's node goes: its pg forgets us; ours drops it on the DOWN.
      router.nodeDown(PEERS[i]);
      views.set(PEERS[i], undefined);
      peerScopes[i] = new Pid(atom(PEERS[i]), peer.id + 10, 0, 1);
    } else {
      const junk: Term[] = [atom('hello'), tuple(atom('join'), peer), tuple(atom('leave'), peer, 'x', 'y'), tuple(atom('$gen_cast'), tuple(atom('sync'), peer, [1])), [1, 2]];
      router.registry.whereis('pg')!.deliver(pick(junk));
    }
    await new Promise((res) => setImmediate(res));
    checkSent();
  }
  assert.ok(checked > 50, `the model checked only ${checked} leaves`);
  assert.ok(router.registry.whereis('pg')?.pid.equals(scope.pid));
});
