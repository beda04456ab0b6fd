// Phoenix.PubSub between a TS node and an Elixir 1.18 node (OTP 27) running a stand-in
// that follows phoenix_pubsub 2.2.0's message shapes and names exactly
// (test/fixtures/phoenix_pubsub_standin.ex): broadcasts both ways, broadcast_from,
// direct_broadcast, channel events, unsubscribe, a throwing subscriber, pool sizes that
// differ, 10,000 broadcasts each way in order, nodes going away, and the Elixir side's pg
// scope keeping its pid through all of it. Then the same adapter shapes against a plain
// OTP 25 node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  atom,
  broadcastChannelEvent,
  elixirModule,
  elixirString,
  jsonTerm,
  Node,
  parseChannelBroadcast,
  PubSub,
  silentLogger,
  tuple,
  type Logger,
  type Pid,
  type Process,
  type Term,
  type Tuple,
} from '../../src/index.js';
import { ErlPeer, requireOtp } from '../support/erl-peer.js';
import { startElixirPeer } from '../support/elixir-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';
import { termEqual } from '../support/term-equal.js';

const COOKIE = 'pubsub-cookie';
const TS = 'ts@127.0.0.5';
const EX = 'ex@127.0.0.6';
const SCOPE = 'Elixir.Phoenix.PubSub';
const WAIT_MS = 15_000;
const STANDIN = fileURLToPath(new URL('../fixtures/phoenix_pubsub_standin.ex', import.meta.url));

/** Collects what a TS subscription receives. */
function collector() {
  const got: Term[] = [];
  return { got, handler: (m: Term) => void got.push(m) };
}

/** The message `{Name, Message}` a stand-in forwarder reports, taken from `inbox`. */
async function reported(inbox: Process, name: string, timeoutMs = WAIT_MS): Promise<Term> {
  const m = (await inbox.receive((t) => Array.isArray(t) && (t as Tuple)[0] === atom(name), timeoutMs).catch((err: unknown) => {
    throw new Error(`no report from ${name}: ${String(err)}`);
  })) as Tuple;
  return m[1];
}

/** The iterator's next result, or a failure after WAIT_MS (a lost message must not hang the test). */
async function next<T>(it: AsyncIterator<T>): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no message in ${WAIT_MS} ms`)), WAIT_MS)));
  try {
    return await Promise.race([it.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Erlang source for a binary. */
const bin = (s: string) => `<<"${s}">>`;

function recordingLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  return { errors, logger: { debug: () => {}, info: () => {}, warn: () => {}, error: (m) => void errors.push(m) } };
}

test('Elixir 1.18: Phoenix.PubSub both ways (stand-in with phoenix_pubsub 2.2.0 shapes)', { timeout: 240_000 }, async (t) => {
  if (!requireOtp(t, 27)) return;
  const port = await freeSharedPort(['127.0.0.5', '127.0.0.6']);
  const ex = await startElixirPeer({ name: EX, cookie: COOKIE, epmdless: { port }, sources: [STANDIN] });
  let node: Node | undefined;
  try {
    const scopePid = await ex.eval(`'Elixir.PubSubStandIn':start_scope().`);
    await ex.eval(`'Elixir.PubSubStandIn':start('Elixir.MyApp.PubSub', 1), ok.`);
    const { logger, errors } = recordingLogger();
    node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const inbox = node.spawn({ name: 'ts_inbox' });
    const pubsub = await PubSub.start(node, { name: 'MyApp.PubSub', logger });
    assert.deepEqual(pubsub.groups(), ['Elixir.MyApp.PubSub.Adapter']);
    assert.ok(node.whereis('Elixir.MyApp.PubSub.Adapter') !== undefined, 'the worker is registered under the group name, as PG2Worker is');
    await ex.eval(`'Elixir.PubSubStandIn':forwarder(ex_room, 'Elixir.MyApp.PubSub', ${bin('room:lobby')}, {ts_inbox, '${TS}'}), ok.`);
    assert.equal(await node.ping(EX), 'pong');
    // pg has exchanged the workers: each side sees the other's.
    const adapter = atom('Elixir.MyApp.PubSub.Adapter');
    const scope = node.pg(SCOPE);
    assert.ok(await eventually(() => scope.getMembers(adapter).some((p) => p.node.name === EX), WAIT_MS), 'the Elixir worker is in our pg view');
    assert.ok(await eventually(async () => (await ex.eval(`length(pg:get_members('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter')).`)) === '2', WAIT_MS), 'ours is in Elixir\'s');

    // Elixir broadcasts, a TS handler and a TS iterator receive it, decoded as usual.
    const a = collector();
    const subA = pubsub.subscribe('room:lobby', a.handler);
    const iter = pubsub.subscribe('room:lobby');
    const it = iter[Symbol.asyncIterator]();
    await ex.eval(`ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.MyApp.PubSub', ${bin('room:lobby')}, {hello, ${bin('from elixir')}, 1}).`);
    const first = await next(it);
    assert.equal(first.done, false);
    assert.ok(termEqual(first.value.message, tuple(atom('hello'), Buffer.from('from elixir'), 1)), `got ${String(first.value.message)}`);
    assert.equal(first.value.topic, 'room:lobby');
    assert.equal(first.value.dispatcher, elixirModule('Phoenix.PubSub'));
    assert.ok(await eventually(() => a.got.length === 1, WAIT_MS));
    // The Elixir subscriber got it too (broadcast dispatches locally as well).
    assert.ok(termEqual(await reported(inbox, 'ex_room'), tuple(atom('hello'), Buffer.from('from elixir'), 1)));

    // TS broadcasts: the Elixir subscriber and the TS ones receive it.
    await pubsub.broadcast('room:lobby', tuple(atom('hi'), 'from ts'));
    assert.ok(termEqual(await reported(inbox, 'ex_room'), tuple(atom('hi'), Buffer.from('from ts'))));
    assert.ok(termEqual((await next(it)).value.message, tuple(atom('hi'), Buffer.from('from ts'))));
    assert.equal(a.got.length, 2);

    // broadcastFrom: every subscriber but the sender, on both sides.
    await pubsub.broadcastFrom(subA, 'room:lobby', atom('not_to_a'));
    assert.equal((await next(it)).value.message, atom('not_to_a'));
    assert.equal(await reported(inbox, 'ex_room'), atom('not_to_a'));
    await ex.eval(`ex_room ! {broadcast_from_me, 'Elixir.MyApp.PubSub', ${bin('room:lobby')}, not_to_ex_room}, ok.`);
    assert.equal((await next(it)).value.message, atom('not_to_ex_room'));
    await pubsub.broadcast('room:lobby', atom('marker1'));
    assert.equal(await reported(inbox, 'ex_room'), atom('marker1'), 'ex_room skipped its own broadcast_from');
    assert.equal((await next(it)).value.message, atom('marker1'));
    assert.deepEqual(a.got.slice(2), [atom('not_to_ex_room'), atom('marker1')], 'subA skipped its own broadcastFrom');

    // directBroadcast: only the named node's subscribers.
    await pubsub.directBroadcast(EX, 'room:lobby', atom('direct_to_ex'));
    assert.equal(await reported(inbox, 'ex_room'), atom('direct_to_ex'));
    await ex.eval(`ok = 'Elixir.Phoenix.PubSub':direct_broadcast('${TS}', 'Elixir.MyApp.PubSub', ${bin('room:lobby')}, direct_to_ts).`);
    assert.equal((await next(it)).value.message, atom('direct_to_ts'));
    await pubsub.broadcast('room:lobby', atom('marker2'));
    assert.equal(await reported(inbox, 'ex_room'), atom('marker2'), 'ex_room did not get the direct broadcast to TS');
    assert.equal((await next(it)).value.message, atom('marker2'), 'TS did not get the direct broadcast to Elixir');

    // Channel events: ours reach Elixir through Phoenix.Channel.Server's dispatch (the
    // stand-in's only matches %Phoenix.Socket.Broadcast{}), and Elixir's are parsed here.
    await broadcastChannelEvent(pubsub, 'room:lobby', 'new_msg', jsonTerm({ body: 'hi', n: 1 }));
    const fromTs = parseChannelBroadcast(await reported(inbox, 'ex_room'));
    assert.equal(fromTs?.event, 'new_msg');
    assert.equal(fromTs?.topic, 'room:lobby');
    const tsCopy = (await next(it)).value;
    assert.equal(tsCopy.dispatcher, elixirModule('Phoenix.Channel.Server'));
    await ex.eval(`ok = 'Elixir.Phoenix.Channel.Server':broadcast('Elixir.MyApp.PubSub', ${bin('room:lobby')}, ${bin('joined')}, #{${bin('user')} => ${bin('jo')}}).`);
    const fromEx = (await next(it)).value;
    assert.equal(fromEx.dispatcher, elixirModule('Phoenix.Channel.Server'));
    const event = parseChannelBroadcast(fromEx.message);
    assert.equal(event?.event, 'joined');
    assert.deepEqual([...(event?.payload as Map<Term, Term>)].map(([k, v]) => [elixirString(k), elixirString(v)]), [['user', 'jo']]);
    assert.equal(parseChannelBroadcast(await reported(inbox, 'ex_room'))?.event, 'joined');

    // Unsubscribe on both sides.
    assert.equal(subA.unsubscribe(), true);
    assert.equal(subA.unsubscribe(), false);
    const gotBefore = a.got.length;
    await ex.eval(`ex_room ! {unsubscribe, 'Elixir.MyApp.PubSub', ${bin('room:lobby')}}, ok.`);
    await ex.eval(`ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.MyApp.PubSub', ${bin('room:lobby')}, after_unsubscribe).`);
    assert.equal((await next(it)).value.message, atom('after_unsubscribe'));
    await pubsub.broadcast('room:lobby', atom('after_unsubscribe_ts'));
    assert.equal((await next(it)).value.message, atom('after_unsubscribe_ts'));
    assert.equal(a.got.length, gotBefore, 'subA got nothing after unsubscribe');
    await ex.eval(`ex_room ! probe, ok.`);
    assert.equal(await reported(inbox, 'ex_room'), atom('probe'), 'ex_room got neither broadcast after it unsubscribed');
    iter.unsubscribe();
    assert.equal((await next(it)).done, true, 'an iterator ends when unsubscribed');

    // A subscriber that throws is logged; the node and the other subscribers go on.
    const c = collector();
    pubsub.subscribe('room:bad', () => {
      throw new Error('subscriber bug');
    });
    pubsub.subscribe('room:bad', async () => {
      throw new Error('async subscriber bug');
    });
    pubsub.subscribe('room:bad', c.handler);
    await ex.eval(`ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.MyApp.PubSub', ${bin('room:bad')}, boom).`);
    assert.ok(await eventually(() => c.got.length === 1 && errors.length === 2, WAIT_MS), `errors: ${JSON.stringify(errors)}`);
    assert.match(errors.join('\n'), /subscriber bug/);
    assert.match(errors.join('\n'), /async subscriber bug/);

    // 10,000 broadcasts each way, none lost, in order per sender.
    const N = 10_000;
    await ex.eval(`'Elixir.PubSubStandIn':sequence_checker(ex_bulk, 'Elixir.MyApp.PubSub', ${bin('bulk')}), ok.`);
    for (let i = 1; i <= N; i++) await pubsub.broadcast('bulk', tuple(atom('seq'), atom('ts'), i));
    assert.equal(await ex.eval(`'Elixir.PubSubStandIn':wait_for(ex_bulk, ${N}, 60000).`, 90_000), `{${N},0}`);
    let received = 0;
    let disorder = 0;
    let doneResolve: () => void = () => {};
    const allIn = new Promise<void>((r) => (doneResolve = r));
    pubsub.subscribe('bulk', (m) => {
      const n = (m as Tuple)[2] as number;
      if (n !== received + 1) disorder++;
      received++;
      if (received === N) doneResolve();
    });
    await ex.eval(`'Elixir.PubSubStandIn':broadcast_seq('Elixir.MyApp.PubSub', ${bin('bulk')}, ex, ${N}).`, 90_000);
    await Promise.race([allIn, new Promise((r) => setTimeout(r, 60_000).unref())]);
    assert.equal(received, N);
    assert.equal(disorder, 0);
    // The TS-to-Elixir checker got only ours, nothing twice.
    assert.equal(await ex.eval(`'Elixir.PubSubStandIn':stats(ex_bulk).`), `{${2 * N},0}`);

    // Pool sizes that differ. Elixir pool 2 (broadcasting on both groups), TS pool 1: we
    // learn `_2` from pg and listen there too.
    const wide = await PubSub.start(node, { name: 'Wide.PubSub', poolSize: 1, logger });
    const w = collector();
    wide.subscribe('t', w.handler);
    await ex.eval(`'Elixir.PubSubStandIn':start('Elixir.Wide.PubSub', 2), ok.`);
    assert.ok(await eventually(() => wide.groups().length === 2, WAIT_MS), `groups ${wide.groups().join()}`);
    assert.deepEqual(wide.groups(), ['Elixir.Wide.PubSub.Adapter', 'Elixir.Wide.PubSub.Adapter_2']);
    assert.ok(await eventually(async () => (await ex.eval(`length(pg:get_members('${SCOPE}', 'Elixir.Wide.PubSub.Adapter_2')).`)) === '2', WAIT_MS));
    // 200 senders, each broadcasting from its own process, so phash2 spreads them over both groups.
    const groupsUsed = await ex.eval(`Self = self(),
      Ps = [spawn(fun() -> ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.Wide.PubSub', ${bin('t')}, {wide, I}), Self ! {sent, I, erlang:phash2(self(), 2)} end) || I <- lists:seq(1, 200)],
      lists:usort([receive {sent, I, G} -> G end || I <- lists:seq(1, length(Ps))]).`);
    assert.equal(groupsUsed, '[0,1]', 'both groups were used');
    // A marker through each of our two workers after all 200: when both are in, all are.
    await ex.eval(`[{G, '${TS}'} ! {forward_to_local, ${bin('t')}, {marker, G}, 'Elixir.Phoenix.PubSub'} || G <- ['Elixir.Wide.PubSub.Adapter', 'Elixir.Wide.PubSub.Adapter_2']], ok.`);
    assert.ok(await eventually(() => w.got.filter((m) => (m as Tuple)[0] === atom('marker')).length === 2, WAIT_MS));
    const wides = w.got.filter((m) => (m as Tuple)[0] === atom('wide')).map((m) => (m as Tuple)[1] as number);
    assert.equal(wides.length, 200, 'each broadcast arrived exactly once');
    assert.equal(new Set(wides).size, 200);
    // ...and ours reach their subscribers.
    await ex.eval(`'Elixir.PubSubStandIn':forwarder(ex_wide, 'Elixir.Wide.PubSub', ${bin('t')}, {ts_inbox, '${TS}'}), ok.`);
    await wide.broadcast('t', atom('from_ts_pool1'));
    assert.equal(await reported(inbox, 'ex_wide'), atom('from_ts_pool1'));
    // ...exactly once each, though Elixir has two workers: 100 in order, then a marker sent
    // straight to each Elixir worker after them (the same connection keeps the order). A
    // copy through the second worker would count as out of order, so {102, 0} means all
    // arrived and none twice.
    await ex.eval(`'Elixir.PubSubStandIn':sequence_checker(ex_wide_seq, 'Elixir.Wide.PubSub', ${bin('w')}), ok.`);
    for (let i = 1; i <= 100; i++) await wide.broadcast('w', tuple(atom('seq'), atom('ts'), i));
    for (const [group, marker] of [['Elixir.Wide.PubSub.Adapter', 'marker1'], ['Elixir.Wide.PubSub.Adapter_2', 'marker2']]) {
      node.send({ name: group, node: EX }, tuple(atom('forward_to_local'), 'w', tuple(atom('seq'), atom(marker), 1), atom('Elixir.Phoenix.PubSub')));
    }
    let wideStats = '';
    assert.ok(await eventually(async () => (wideStats = await ex.eval(`'Elixir.PubSubStandIn':stats(ex_wide_seq).`)) === '{102,0}', WAIT_MS), `stats ${wideStats}`);

    // TS pool 2, Elixir pool 1: Elixir's one group reaches us once; ours reach Elixir.
    await ex.eval(`'Elixir.PubSubStandIn':start('Elixir.Narrow.PubSub', 1), ok.`);
    await ex.eval(`'Elixir.PubSubStandIn':forwarder(ex_narrow, 'Elixir.Narrow.PubSub', ${bin('t')}, {ts_inbox, '${TS}'}), ok.`);
    const narrow = await PubSub.start(node, { name: 'Narrow.PubSub', poolSize: 2, logger });
    const nw = collector();
    narrow.subscribe('t', nw.handler);
    assert.ok(await eventually(async () => (await ex.eval(`length(pg:get_members('${SCOPE}', 'Elixir.Narrow.PubSub.Adapter')).`)) === '2', WAIT_MS));
    await narrow.broadcast('t', atom('from_ts_pool2'));
    assert.equal(await reported(inbox, 'ex_narrow'), atom('from_ts_pool2'));
    // 100 senders, each its own process; the eval returns once all have sent.
    await ex.eval(`Self = self(), [spawn(fun() -> ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.Narrow.PubSub', ${bin('t')}, {narrow, I}), Self ! sent end) || I <- lists:seq(1, 100)],
      [receive sent -> ok end || _ <- lists:seq(1, 100)], ok.`);
    await ex.eval(`[{G, '${TS}'} ! {forward_to_local, ${bin('t')}, {marker, G}, 'Elixir.Phoenix.PubSub'} || G <- ['Elixir.Narrow.PubSub.Adapter', 'Elixir.Narrow.PubSub.Adapter_2']], ok.`);
    assert.ok(await eventually(() => nw.got.filter((m) => (m as Tuple)[0] === atom('marker')).length === 2, WAIT_MS));
    assert.equal(new Set(nw.got.filter((m) => (m as Tuple)[0] === atom('narrow')).map((m) => (m as Tuple)[1])).size, 100);
    assert.equal(nw.got.filter((m) => (m as Tuple)[0] === atom('narrow')).length, 100, 'each exactly once');

    // A peer stopping its pubsub: its workers leave our view, ours go on.
    await ex.eval(`'Elixir.PubSubStandIn':stop('Elixir.Narrow.PubSub').`);
    assert.ok(await eventually(() => !scope.getMembers(atom('Elixir.Narrow.PubSub.Adapter')).some((p) => p.node.name === EX), WAIT_MS));
    await narrow.broadcast('t', atom('alone'));
    assert.equal(nw.got.at(-1), atom('alone'));
    narrow.stop();
    assert.ok(await eventually(async () => (await ex.eval(`pg:get_members('${SCOPE}', 'Elixir.Narrow.PubSub.Adapter_2').`)) === '[]', WAIT_MS), 'our stopped workers left on Elixir');

    // The nodes lose each other: each drops the other's workers; back again, broadcasts flow.
    await node.disconnect(EX);
    assert.ok(await eventually(() => !scope.getMembers(adapter).some((p) => p.node.name === EX), WAIT_MS));
    assert.ok(await eventually(async () => (await ex.eval(`length(pg:get_members('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter')).`)) === '1', WAIT_MS));
    const d = collector();
    pubsub.subscribe('room:lobby', d.handler);
    await pubsub.broadcast('room:lobby', atom('while_apart')); // reaches only ours, without error
    assert.deepEqual(d.got, [atom('while_apart')]);
    assert.equal(await node.ping(EX), 'pong');
    await ex.eval(`'Elixir.PubSubStandIn':forwarder(ex_room2, 'Elixir.MyApp.PubSub', ${bin('room:lobby')}, {ts_inbox, '${TS}'}), ok.`);
    assert.ok(await eventually(() => scope.getMembers(adapter).some((p) => p.node.name === EX), WAIT_MS));
    assert.ok(await eventually(async () => (await ex.eval(`length(pg:get_members('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter')).`)) === '2', WAIT_MS));
    await pubsub.broadcast('room:lobby', atom('together_again'));
    assert.equal(await reported(inbox, 'ex_room2'), atom('together_again'));

    // Elixir kills our worker: it is restarted under its name, rejoins, and broadcasts flow.
    const killed = node.whereis('Elixir.MyApp.PubSub.Adapter');
    await ex.eval(`[exit(P, kill) || P <- pg:get_members('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter'), node(P) =/= node()], ok.`);
    assert.ok(await eventually(() => { const w = node?.whereis('Elixir.MyApp.PubSub.Adapter'); return w !== undefined && !w.equals(killed!); }, WAIT_MS), 'restarted');
    const restarted = node.whereis('Elixir.MyApp.PubSub.Adapter');
    const elixirSeesRestarted = async () => {
      await ex.eval(`{ts_inbox, '${TS}'} ! {members, [P || P <- pg:get_members('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter'), node(P) =/= node()]}, ok.`);
      const m = (await inbox.receive((x) => Array.isArray(x) && (x as Tuple)[0] === atom('members'), WAIT_MS)) as Tuple;
      const pids = m[1] as Pid[];
      return pids.length === 1 && pids[0].equals(restarted!);
    };
    assert.ok(await eventually(elixirSeesRestarted, WAIT_MS), 'Elixir\'s pg has the new worker, not the old one');
    await ex.eval(`ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.MyApp.PubSub', ${bin('room:lobby')}, after_restart).`);
    assert.ok(await eventually(() => d.got.at(-1) === atom('after_restart'), WAIT_MS), 'the restarted worker receives');

    // The Elixir side's pg scope never crashed.
    assert.equal(await ex.eval(`whereis('${SCOPE}').`), scopePid);

    // The Elixir node goes down: its workers leave; broadcasts go on here.
    await ex.stop();
    assert.ok(await eventually(() => scope.getMembers(adapter).every((p) => p.node.name === TS), WAIT_MS));
    await pubsub.broadcast('room:lobby', atom('after_nodedown'));
    assert.equal(d.got.at(-1), atom('after_nodedown'));
    pubsub.stop();
    wide.stop();
    assert.equal(node.whereis('Elixir.MyApp.PubSub.Adapter'), undefined);
    assert.throws(() => pubsub.subscribe('x', () => {}), /stopped/);
  } catch (err) {
    // What the Elixir node printed (crash reports of the stand-in) says more than a timeout.
    throw new Error(`${err instanceof Error ? err.stack : String(err)}\nElixir node output:\n${ex.output().slice(-4000)}`);
  } finally {
    await node?.stop();
    await ex.stop();
  }
});

test('OTP 25: a worker with the PG2 adapter\'s shapes, in plain Erlang', { timeout: 60_000 }, async (t) => {
  if (!requireOtp(t, 25)) return;
  const port = await freeSharedPort(['127.0.0.5', '127.0.0.6']);
  const erl = await ErlPeer.start({ name: 'erl@127.0.0.6', cookie: COOKIE, otp: 25, epmdless: { port } });
  let node: Node | undefined;
  try {
    // What PG2Worker and PG2.broadcast do, for pool_size 1, written in Erlang.
    const scopePid = await erl.eval(`Self = self(), spawn(fun() -> {ok, P} = pg:start_link('${SCOPE}'), Self ! {scope, P}, receive stop -> ok end end), receive {scope, P} -> P end.`);
    await erl.eval(`spawn(fun() -> register('Elixir.MyApp.PubSub.Adapter', self()), ok = pg:join('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter', self()),
      Loop = fun L() -> receive {forward_to_local, T, M, D} -> {ts_inbox, '${TS}'} ! {got, T, M, D}, L() end end, Loop() end), ok.`);
    node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const inbox = node.spawn({ name: 'ts_inbox' });
    const pubsub = await PubSub.start(node, { name: 'MyApp.PubSub', logger: silentLogger });
    const got = collector();
    pubsub.subscribe('room', got.handler);
    assert.equal(await node.ping('erl@127.0.0.6'), 'pong');
    const scope = node.pg(SCOPE);
    assert.ok(await eventually(() => scope.getMembers(atom('Elixir.MyApp.PubSub.Adapter')).length === 2, WAIT_MS));
    assert.ok(await eventually(async () => (await erl.eval(`length(pg:get_members('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter')).`)) === '2', WAIT_MS));
    await pubsub.broadcast('room', atom('to_erl'));
    const m = (await inbox.receive(WAIT_MS)) as Tuple;
    assert.ok(termEqual(m, tuple(atom('got'), Buffer.from('room'), atom('to_erl'), atom('Elixir.Phoenix.PubSub'))), `got ${String(m)}`);
    await erl.eval(`[P ! {forward_to_local, <<"room">>, to_ts, 'Elixir.Phoenix.PubSub'} || P <- pg:get_members('${SCOPE}', 'Elixir.MyApp.PubSub.Adapter'), node(P) =/= node()], ok.`);
    assert.ok(await eventually(() => got.got.length === 2, WAIT_MS));
    assert.deepEqual(got.got, [atom('to_erl'), atom('to_ts')]);
    assert.equal(await erl.eval(`whereis('${SCOPE}').`), scopePid);
  } finally {
    await node?.stop();
    await erl.stop();
  }
});
