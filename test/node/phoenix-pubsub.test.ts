// Phoenix.PubSub's pieces without BEAM: the adapter's names and message shapes
// (phoenix_pubsub 2.2.0), local dispatch (sender left out, throwing subscribers logged,
// the iterator form), channel event structs, and two TS nodes whose pool sizes differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from '../../src/term/decode.js';
import { encode } from '../../src/term/encode.js';
import { atom, Tuple, tuple, type Term } from '../../src/term/types.js';
import type { Logger } from '../../src/logger.js';
import { Node } from '../../src/node/node.js';
import { adapterName, buildForwardToLocal, CHANNEL_DISPATCHER, DEFAULT_DISPATCHER, MAX_POOL_SIZE, parseForwardToLocal, poolGroupIndex, poolGroupName } from '../../src/node/phoenix/messages.js';
import { Subscribers, type PubSubMessage } from '../../src/node/phoenix/subscribers.js';
import { channelBroadcast, parseChannelBroadcast } from '../../src/node/phoenix/channel-broadcast.js';
import { PubSub } from '../../src/node/phoenix/pubsub.js';
import { elixirStruct, jsonTerm } from '../../src/node/elixir.js';
import { eventually, freeSharedPort } from '../support/ports.js';

function recording(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  return { errors, logger: { debug: () => {}, info: () => {}, warn: () => {}, error: (m) => void errors.push(m) } };
}

const roundTrip = (t: Term): Term => decode(encode(t)) as Term;

test('adapter and pool group names, as Module.concat and PG2 make them', () => {
  assert.equal(adapterName('MyApp.PubSub'), 'Elixir.MyApp.PubSub.Adapter');
  assert.equal(adapterName('Elixir.MyApp.PubSub'), 'Elixir.MyApp.PubSub.Adapter');
  assert.equal(adapterName('my_pubsub'), 'Elixir.my_pubsub.Adapter');
  assert.throws(() => adapterName(''), TypeError);
  const a = 'Elixir.MyApp.PubSub.Adapter';
  assert.equal(poolGroupName(a, 1), a);
  assert.equal(poolGroupName(a, 3), `${a}_3`);
  assert.equal(poolGroupIndex(a, atom(a)), 1);
  assert.equal(poolGroupIndex(a, atom(`${a}_2`)), 2);
  assert.equal(poolGroupIndex(a, atom(`${a}_${MAX_POOL_SIZE}`)), MAX_POOL_SIZE);
  for (const other of [`${a}_1`, `${a}_0`, `${a}_02`, `${a}_-2`, `${a}_x`, `${a}_${MAX_POOL_SIZE + 1}`, `${a}_99999999`, 'Elixir.Other.Adapter', `${a}X_2`]) {
    assert.equal(poolGroupIndex(a, atom(other)), undefined, other);
  }
  assert.equal(poolGroupIndex(a, a), undefined, 'a binary is not the group (groups are atoms)');
});

test('{forward_to_local, Topic, Message, Dispatcher}: built and parsed as the adapter sends it', () => {
  const m = buildForwardToLocal('room:1', tuple(atom('hi'), 1), DEFAULT_DISPATCHER);
  assert.ok(m instanceof Tuple);
  const decoded = roundTrip(m);
  assert.ok((decoded as Tuple)[1] instanceof Uint8Array, 'the topic travels as a binary (an Elixir string)');
  const parsed = parseForwardToLocal(decoded);
  assert.equal(parsed?.topic, 'room:1');
  assert.equal(parsed?.dispatcher, atom('Elixir.Phoenix.PubSub'));
  assert.deepEqual(parsed?.message, tuple(atom('hi'), 1));
  const bad: Term[] = [
    atom('forward_to_local'),
    tuple(atom('forward_to_local'), 'room', 1),
    tuple(atom('forward_to_local'), 'room', 1, 'not an atom'),
    tuple(atom('forward_to_local'), atom('room'), 1, DEFAULT_DISPATCHER),
    tuple(atom('forward_to_local'), Buffer.from([0xff, 0xfe]), 1, DEFAULT_DISPATCHER),
    tuple(atom('other'), 'room', 1, DEFAULT_DISPATCHER),
    [atom('forward_to_local'), 'room', 1, DEFAULT_DISPATCHER],
  ];
  for (const b of bad) assert.equal(parseForwardToLocal(b), undefined, String(b));
});

test('local dispatch: every subscriber of the topic, the sender left out, errors logged', async () => {
  const { logger, errors } = recording();
  const subs = new Subscribers(logger, 'PubSub T');
  const got: string[] = [];
  const a = subs.add('t', (m) => void got.push(`a:${String((m as Term[])[0])}`));
  subs.add('t', () => {
    throw new Error('sync bug');
  });
  subs.add('t', async () => {
    throw new Error('async bug');
  });
  subs.add('t', (m, topic, dispatcher) => void got.push(`d:${topic}:${dispatcher.name}:${String((m as Term[])[0])}`));
  subs.add('other', () => void got.push('other'));
  subs.dispatch('t', [1], DEFAULT_DISPATCHER);
  subs.dispatch('t', [2], CHANNEL_DISPATCHER, a);
  subs.dispatch('nobody', [3], DEFAULT_DISPATCHER);
  await new Promise((r) => setImmediate(r)); // the async handler's rejection is caught in a later turn
  assert.deepEqual(got, ['a:1', 'd:t:Elixir.Phoenix.PubSub:1', 'd:t:Elixir.Phoenix.Channel.Server:2']);
  assert.equal(errors.length, 4);
  assert.match(errors.join('\n'), /sync bug/);
  assert.match(errors.join('\n'), /async bug/);
  assert.equal(subs.count('t'), 4);
  assert.equal(a.unsubscribe(), true);
  assert.equal(a.unsubscribe(), false);
  assert.equal(subs.count('t'), 3);
  assert.throws(() => subs.add(1 as unknown as string, undefined), TypeError);
});

test('a subscriber made while a message is delivered gets the next one, not that one', () => {
  const { logger } = recording();
  const subs = new Subscribers(logger, 'PubSub T');
  const late: Term[] = [];
  subs.add('t', () => void subs.add('t', (m) => void late.push(m)));
  subs.dispatch('t', 1, DEFAULT_DISPATCHER);
  assert.deepEqual(late, []);
  subs.dispatch('t', 2, DEFAULT_DISPATCHER);
  assert.deepEqual(late, [2]);
});

test('the iterator form: queued messages, a waiting reader, unsubscribe and break end it', async () => {
  const { logger } = recording();
  const subs = new Subscribers(logger, 'PubSub T');
  const sub = subs.add('t', undefined);
  subs.dispatch('t', 1, DEFAULT_DISPATCHER);
  subs.dispatch('t', 2, DEFAULT_DISPATCHER);
  const it = sub[Symbol.asyncIterator]();
  assert.equal(((await it.next()).value as PubSubMessage).message, 1);
  assert.equal(((await it.next()).value as PubSubMessage).message, 2);
  const waiting = it.next();
  subs.dispatch('t', 3, DEFAULT_DISPATCHER);
  assert.deepEqual(await waiting, { done: false, value: { topic: 't', message: 3, dispatcher: DEFAULT_DISPATCHER } });
  const pending = it.next();
  sub.unsubscribe();
  assert.equal((await pending).done, true);
  assert.equal((await it.next()).done, true);

  const other = subs.add('t', undefined);
  subs.dispatch('t', 4, DEFAULT_DISPATCHER);
  subs.dispatch('t', 5, DEFAULT_DISPATCHER);
  const seen: Term[] = [];
  for await (const m of other) {
    seen.push(m.message);
    break;
  }
  assert.deepEqual(seen, [4]);
  assert.equal(other.active, false, 'break unsubscribes');
  assert.equal(subs.count('t'), 0);

  const withHandler = subs.add('t', () => {});
  assert.throws(() => withHandler[Symbol.asyncIterator](), TypeError);
});

test('channel events: %Phoenix.Socket.Broadcast{} built, and parsed after a round trip', () => {
  const s = channelBroadcast('room:1', 'new_msg', jsonTerm({ body: 'hi' }));
  const back = parseChannelBroadcast(roundTrip(s));
  assert.equal(back?.topic, 'room:1');
  assert.equal(back?.event, 'new_msg');
  assert.ok(back?.payload instanceof Map);
  assert.equal(parseChannelBroadcast(roundTrip(elixirStruct('Phoenix.Socket.Reply', { topic: 't', event: 'e', payload: 1 }))), undefined);
  assert.equal(parseChannelBroadcast(roundTrip(elixirStruct('Phoenix.Socket.Broadcast', { topic: 't', event: 1, payload: 1 }))), undefined);
  assert.equal(parseChannelBroadcast(roundTrip(elixirStruct('Phoenix.Socket.Broadcast', { topic: 't', event: 'e' }))), undefined);
  assert.equal(parseChannelBroadcast(atom('x')), undefined);
  assert.throws(() => channelBroadcast('t', 1 as unknown as string, 1), TypeError);
});

test('two TS nodes, pools 2 and 1: groups learned, each broadcast once, exit signals ignored', { timeout: 60_000 }, async () => {
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const a = await Node.start({ name: 'a@127.0.0.2', cookie: 'c', epmd: false, port, logger: recording().logger });
  const b = await Node.start({ name: 'b@127.0.0.3', cookie: 'c', epmd: false, port, logger: recording().logger });
  try {
    const pa = await PubSub.start(a, { name: 'T.PubSub', poolSize: 2, logger: recording().logger });
    const pb = await PubSub.start(b, { name: 'T.PubSub', logger: recording().logger });
    await assert.rejects(PubSub.start(b, { name: 'T.PubSub' }), /already runs/);
    await assert.rejects(PubSub.start(b, { name: 'U.PubSub', poolSize: 0 }), RangeError);
    const gotA: Term[] = [];
    const gotB: Term[] = [];
    pa.subscribe('t', (m) => void gotA.push(m));
    pb.subscribe('t', (m) => void gotB.push(m));
    assert.deepEqual(pa.nodes(), []);
    assert.equal(await a.ping('b@127.0.0.3'), 'pong');
    assert.ok(await eventually(() => pb.groups().length === 2, 10_000), 'b learned group _2 from pg');
    assert.ok(await eventually(() => pa.nodes().length === 1 && pb.nodes().length === 1, 10_000));
    assert.deepEqual(pa.nodes(), ['b@127.0.0.3']);
    await pa.broadcast('t', 1);
    await pb.broadcast('t', 2);
    assert.ok(await eventually(() => gotA.length === 2 && gotB.length === 2, 10_000));
    assert.deepEqual(gotA, [1, 2]);
    assert.deepEqual([...gotB].sort(), [1, 2], 'each once');
    await pa.directBroadcast('b@127.0.0.3', 't', 3);
    pa.localBroadcast('t', 4);
    assert.ok(await eventually(() => gotB.includes(3), 10_000));
    assert.deepEqual(gotA, [1, 2, 4]);

    // A worker that gets an exit signal through a link (trapped) or a stray message goes on.
    const before = b.whereis('Elixir.T.PubSub.Adapter');
    assert.ok(before !== undefined);
    a.send(before, atom('ignored')); // anything but forward_to_local is dropped
    const killer = a.spawn();
    killer.link(before);
    killer.exit(atom('kill_me')); // trapped: becomes a message, also dropped
    const scope = a.pg('Elixir.Phoenix.PubSub');
    assert.ok(await eventually(() => scope.getMembers(atom('Elixir.T.PubSub.Adapter')).some((p) => p.equals(before)), 10_000));
    const pbWorker = b.whereis('Elixir.T.PubSub.Adapter');
    assert.ok(pbWorker?.equals(before), 'a trapped exit does not end the worker');
    pb.stop();
    assert.equal(b.whereis('Elixir.T.PubSub.Adapter'), undefined);
    assert.ok(await eventually(() => pa.nodes().length === 0, 10_000), 'a no longer sees b\'s pubsub');
    assert.ok(await eventually(() => scope.getMembers(atom('Elixir.T.PubSub.Adapter')).every((p) => p.node.name === 'a@127.0.0.2'), 10_000), 'b\'s stopped workers left');
    await pa.broadcast('t', 5);
    assert.deepEqual(gotA.at(-1), 5);

    // The node stops: so does its pubsub, and a waiting iterator ends instead of hanging.
    const waiting = pa.subscribe('t')[Symbol.asyncIterator]().next();
    await a.stop();
    assert.equal((await waiting).done, true);
    await assert.rejects(pa.broadcast('t', 6), /stopped/);
  } finally {
    await a.stop();
    await b.stop();
  }
});
