// The `binaries` option (NodeOptions.binaries, spawn/serve's own) against real BEAM
// peers: an Elixir-like map with binary keys sent from erl arrives with string keys
// (utf8-keys) or string keys and values (utf8) where a process asked for it, and as
// Buffers everywhere else, as before; every way a message reaches user code (a pid, a
// registered name, a node.call reply through an alias, a node.serve call, exposed
// functions through erpc, rpc and rex, rex's sbcast relay) follows it, and sends back
// the same bytes; the node's own services (rex, net_kernel, pg, Phoenix.PubSub workers)
// work with it on, against OTP 25 and 27 and Elixir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { atom, InvalidOptionError, Node, PubSub, silentLogger, tuple, type Term, type Tuple } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { startElixirPeer } from '../support/elixir-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'binaries-cookie';
const ERL = 'erl@127.0.0.2';
const KEYS = 'ts_keys@127.0.0.3';
const PLAIN = 'ts_plain@127.0.0.4';
const WAIT_MS = 10_000;

/** An Elixir-like map: binary keys, nested maps and lists, a key that is not UTF-8, an atom key. */
const PAYLOAD = `#{<<"id">> => 7, <<"name">> => <<"ada">>, <<"tags">> => [#{<<"k">> => <<"v">>}], <<255, 0>> => bad_key, atom_key => <<"x">>}`;

/** The map's keys as `string:<k>`, `buffer:<hex>` or `atom:<name>`, sorted: how each key arrived. */
function keyKinds(m: Term): string[] {
  assert.ok(m instanceof Map, `a map, got ${String(m)}`);
  return [...m.keys()]
    .map((k) => (typeof k === 'string' ? `string:${k}` : Buffer.isBuffer(k) ? `buffer:${k.toString('hex')}` : `atom:${String(k)}`))
    .sort();
}

const STRING_KEYS = ['atom:atom_key', 'buffer:ff00', 'string:id', 'string:name', 'string:tags'];
const BUFFER_KEYS = ['atom:atom_key', 'buffer:6964', 'buffer:6e616d65', 'buffer:74616773', 'buffer:ff00'];

/** Checks a received PAYLOAD as a `utf8-keys` receiver gets it: string keys at every depth, values Buffers. */
function assertKeysAsStrings(m: Term, what: string): void {
  assert.deepEqual(keyKinds(m), STRING_KEYS, what);
  const map = m as Map<Term, Term>;
  assert.ok(Buffer.isBuffer(map.get('name')) && (map.get('name') as Buffer).toString() === 'ada', `${what}: values stay Buffers`);
  const nested = (map.get('tags') as Term[])[0] as Map<Term, Term>;
  assert.deepEqual([...nested.keys()], ['k'], `${what}: nested keys too`);
}

async function peers(otp: OtpRelease): Promise<{ erl: ErlPeer; keys: Node; plain: Node }> {
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port }, args: ['-kernel', 'start_pg', 'true'] });
  const keys = await Node.start({ name: KEYS, cookie: COOKIE, epmd: false, port, logger: silentLogger, binaries: 'utf8-keys' });
  const plain = await Node.start({ name: PLAIN, cookie: COOKIE, epmd: false, port, logger: silentLogger });
  assert.equal(await keys.ping(ERL), 'pong');
  assert.equal(await plain.ping(ERL), 'pong');
  return { erl, keys, plain };
}

test('a bad binaries option is refused, at start and per process', async () => {
  await assert.rejects(Node.start({ name: 'bad@127.0.0.3', cookie: COOKIE, epmd: false, port: 1, binaries: 'latin1' as never }), InvalidOptionError);
  const node = await Node.start({ name: 'opt@127.0.0.3', cookie: COOKIE, logger: silentLogger, epmd: false, port: (await freeSharedPort(['127.0.0.3'])) });
  try {
    assert.throws(() => node.spawn({ binaries: 'strings' as never }), InvalidOptionError);
    assert.equal(node.spawn().binaries, 'buffer');
    assert.equal(node.spawn({ binaries: 'utf8' }).binaries, 'utf8');
  } finally {
    await node.stop();
  }
});

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: messages from erl arrive with string keys where asked, as Buffers elsewhere, and go back as the same term`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { erl, keys, plain } = await peers(otp);
    try {
      const inbox = keys.spawn({ name: 'inbox' }); // the node's default: utf8-keys
      const asBuffers = keys.spawn({ name: 'as_buffers', binaries: 'buffer' });
      const asStrings = keys.spawn({ name: 'as_strings', binaries: 'utf8' });
      const plainInbox = plain.spawn({ name: 'inbox' });
      assert.equal(inbox.binaries, 'utf8-keys');

      // By registered name (REG_SEND).
      await erl.eval(`{inbox, '${KEYS}'} ! ${PAYLOAD}, {as_buffers, '${KEYS}'} ! ${PAYLOAD}, {as_strings, '${KEYS}'} ! ${PAYLOAD}, {inbox, '${PLAIN}'} ! ${PAYLOAD}.`);
      const got = await inbox.receive(WAIT_MS);
      assertKeysAsStrings(got, 'utf8-keys by name');
      assert.deepEqual(keyKinds(await asBuffers.receive(WAIT_MS)), BUFFER_KEYS, 'a process that chose buffer, as today');
      assert.deepEqual(keyKinds(await plainInbox.receive(WAIT_MS)), BUFFER_KEYS, 'a node without the option, as today');
      const utf8 = (await asStrings.receive(WAIT_MS)) as Map<Term, Term>;
      assert.deepEqual(keyKinds(utf8), STRING_KEYS);
      assert.equal(utf8.get('name'), 'ada', 'utf8: values too');
      assert.equal(utf8.get(atom('atom_key')), 'x');
      assert.deepEqual(utf8.get(Buffer.from([255, 0]) as never), undefined, 'Map keys by identity: the non-UTF-8 key stays a Buffer');
      assert.ok([...utf8.keys()].some((k) => Buffer.isBuffer(k) && k.equals(Buffer.from([255, 0]))));

      // By pid (SEND_SENDER): the process sends its pid; erl answers there. What arrived goes back
      // as the same term (=:=), strings and all.
      await erl.eval(`P = spawn(fun() -> receive {From, Term} -> From ! {same, Term =:= ${PAYLOAD}}, From ! ${PAYLOAD} after 10000 -> ok end end), register(echo_once, P), ok.`);
      inbox.send({ name: 'echo_once', node: ERL }, tuple(inbox.pid, got));
      assert.deepEqual(await inbox.receive(WAIT_MS), tuple(atom('same'), true), 'the strings went back as the same binaries');
      assertKeysAsStrings(await inbox.receive(WAIT_MS), 'utf8-keys by pid');

      // A node.call reply (ALIAS_SEND to the call): rpc through erl's rex.
      const reply = await keys.rpc(ERL, 'erlang', 'binary_to_term', [await termBytes(erl, PAYLOAD)]);
      assertKeysAsStrings(reply, 'a node.call reply');
      assert.deepEqual(keyKinds(await plain.rpc(ERL, 'erlang', 'binary_to_term', [await termBytes(erl, PAYLOAD)])), BUFFER_KEYS);

      // rex's sbcast relay: the registered process gets it as it asked.
      assert.equal(await erl.eval(`rpc:sbcast(['${KEYS}'], as_strings, ${PAYLOAD}).`), `{['${KEYS}'],[]}`);
      assert.equal(((await asStrings.receive(WAIT_MS)) as Map<Term, Term>).get('name'), 'ada');
      assert.equal(await erl.eval(`rpc:sbcast(['${KEYS}'], as_buffers, ${PAYLOAD}).`), `{['${KEYS}'],[]}`);
      assert.deepEqual(keyKinds(await asBuffers.receive(WAIT_MS)), BUFFER_KEYS);
    } finally {
      await keys.stop();
      await plain.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: node.serve calls and exposed functions (erpc, rpc, rex) take the node's binaries; the services work with it on`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { erl, keys, plain } = await peers(otp);
    try {
      // A server answers the kinds of its request's keys; an exposed function the same.
      const kinds = (m: Term) => keyKinds(m).map((k) => k.split(':')[0]);
      await keys.serve('srv', { handleCall: (request) => kinds(request) });
      await keys.serve('srv_buffers', { handleCall: (request) => kinds(request) }, { binaries: 'buffer' });
      await plain.serve('srv', { handleCall: (request) => kinds(request) });
      for (const node of [keys, plain]) node.expose('probe', { kinds: (m) => kinds(m), name: (m) => (m as Map<Term, Term>).get('name') ?? atom('none') });
      const stringKinds = '[<<"atom">>,<<"buffer">>,<<"string">>,<<"string">>,<<"string">>]';
      const bufferKinds = '[<<"atom">>,<<"buffer">>,<<"buffer">>,<<"buffer">>,<<"buffer">>]';
      assert.equal(await erl.eval(`gen_server:call({srv, '${KEYS}'}, ${PAYLOAD}).`), stringKinds);
      assert.equal(await erl.eval(`gen_server:call({srv_buffers, '${KEYS}'}, ${PAYLOAD}).`), bufferKinds);
      assert.equal(await erl.eval(`gen_server:call({srv, '${PLAIN}'}, ${PAYLOAD}).`), bufferKinds);
      for (const call of [
        (n: string) => `erpc:call('${n}', probe, kinds, [${PAYLOAD}])`,
        (n: string) => `rpc:call('${n}', probe, kinds, [${PAYLOAD}])`,
        (n: string) => `rpc:block_call('${n}', probe, kinds, [${PAYLOAD}])`,
        (n: string) => `begin {rex, '${n}'} ! {self(), {call, probe, kinds, [${PAYLOAD}], user}}, receive {rex, R} -> R after 10000 -> no_answer end end`,
      ]) {
        assert.equal(await erl.eval(`${call(KEYS)}.`), stringKinds, call(KEYS));
        assert.equal(await erl.eval(`${call(PLAIN)}.`), bufferKinds, call(PLAIN));
      }
      // A string key finds the value on the utf8-keys node only; the value goes back as the binary.
      assert.equal(await erl.eval(`erpc:call('${KEYS}', probe, name, [${PAYLOAD}]).`), '<<"ada">>');
      assert.equal(await erl.eval(`erpc:call('${PLAIN}', probe, name, [${PAYLOAD}]).`), 'none');

      // The node's own services with the option on: net_kernel (ping), rex (rpc both ways), pg.
      assert.equal(await erl.eval(`net_adm:ping('${KEYS}').`), 'pong');
      assert.equal(await keys.rpc(ERL, 'erlang', 'length', [[1, 2, 3]]), 3);
      const pg = keys.pg();
      const member = keys.spawn();
      pg.join('room:lobby', member);
      await erl.eval(`P = spawn(fun() -> receive stop -> ok end end), register(beam_member, P), ok = pg:join(<<"room:lobby">>, P).`);
      const scopePid = await erl.eval(`whereis(pg).`);
      assert.ok(await eventually(() => pg.getMembers('room:lobby').length === 2, WAIT_MS), 'TS sees both members of the binary-named group');
      assert.ok(await eventually(async () => (await erl.eval(`length(pg:get_members(<<"room:lobby">>)).`)) === '2', WAIT_MS), 'BEAM sees both');
      await erl.eval(`[P ! ${PAYLOAD} || P <- pg:get_members(<<"room:lobby">>), node(P) =/= node()], ok.`);
      assertKeysAsStrings(await member.receive(WAIT_MS), 'a pg member of the utf8-keys node');
      await erl.eval(`beam_member ! stop.`);
      assert.ok(await eventually(() => pg.getMembers('room:lobby').length === 1, WAIT_MS), 'the BEAM member left');
      assert.equal(await erl.eval(`whereis(pg).`), scopePid, 'the BEAM scope never crashed');
    } finally {
      await keys.stop();
      await plain.stop();
      await erl.stop();
    }
  });
}

/** term_to_binary(Term) made by erl, as a Buffer (so that rpc sends it as a binary). */
async function termBytes(erl: ErlPeer, term: string): Promise<Buffer> {
  const bytes = JSON.parse(await erl.eval(`binary_to_list(term_to_binary(${term})).`)) as number[];
  return Buffer.from(bytes);
}

const STANDIN = fileURLToPath(new URL('../fixtures/phoenix_pubsub_standin.ex', import.meta.url));

test('Elixir 1.18: Phoenix.PubSub with utf8-keys: broadcasts both ways, subscribers get string keys', { timeout: 120_000 }, async (t) => {
  if (!requireOtp(t, 27)) return;
  const ts = 'ts@127.0.0.5';
  const ex = 'ex@127.0.0.6';
  const port = await freeSharedPort(['127.0.0.5', '127.0.0.6']);
  const elixir = await startElixirPeer({ name: ex, cookie: COOKIE, epmdless: { port }, sources: [STANDIN] });
  let node: Node | undefined;
  try {
    await elixir.eval(`'Elixir.PubSubStandIn':start_scope().`);
    await elixir.eval(`'Elixir.PubSubStandIn':start('Elixir.MyApp.PubSub', 1), ok.`);
    node = await Node.start({ name: ts, cookie: COOKIE, epmd: false, port, logger: silentLogger, binaries: 'utf8-keys' });
    const inbox = node.spawn({ name: 'ts_inbox' });
    const pubsub = await PubSub.start(node, { name: 'MyApp.PubSub', logger: silentLogger });
    await elixir.eval(`'Elixir.PubSubStandIn':forwarder(ex_room, 'Elixir.MyApp.PubSub', <<"room:lobby">>, {ts_inbox, '${ts}'}), ok.`);
    assert.equal(await node.ping(ex), 'pong');
    const scope = node.pg('Elixir.Phoenix.PubSub');
    assert.ok(await eventually(() => scope.getMembers(atom('Elixir.MyApp.PubSub.Adapter')).length === 2, WAIT_MS), 'the workers met');

    const received: Term[] = [];
    pubsub.subscribe('room:lobby', (m) => void received.push(m));
    await elixir.eval(`ok = 'Elixir.Phoenix.PubSub':broadcast('Elixir.MyApp.PubSub', <<"room:lobby">>, ${PAYLOAD}).`);
    assert.ok(await eventually(() => received.length === 1, WAIT_MS), 'the TS subscriber got the broadcast');
    assertKeysAsStrings(received[0], 'a PubSub subscriber');
    // The Elixir subscriber's report comes to ts_inbox, a utf8-keys process too.
    const report = (await inbox.receive((m) => Array.isArray(m) && (m as Tuple)[0] === atom('ex_room'), WAIT_MS)) as Tuple;
    assertKeysAsStrings(report[1], 'a report to a TS process');

    // TS broadcasts what it received: the Elixir subscriber gets the very term Elixir sent.
    await pubsub.broadcast('room:lobby', received[0]);
    const echoed = (await inbox.receive((m) => Array.isArray(m) && (m as Tuple)[0] === atom('ex_room'), WAIT_MS)) as Tuple;
    assertKeysAsStrings(echoed[1], 'the echo');
    // An Elixir subscriber that compares what it gets with what was sent, and says so to ts_inbox.
    const subscribed = await elixir.eval(`Parent = self(), spawn(fun() ->
        _ = 'Elixir.Phoenix.PubSub':subscribe('Elixir.MyApp.PubSub', <<"room:check">>), Parent ! subscribed,
        receive M -> {ts_inbox, '${ts}'} ! {checked, M =:= ${PAYLOAD}} after 10000 -> ok end
      end), receive subscribed -> ok after 10000 -> timeout end.`);
    assert.equal(subscribed, 'ok');
    await pubsub.broadcast('room:check', received[0]);
    const checked = await inbox.receive((m) => Array.isArray(m) && (m as Tuple)[0] === atom('checked'), WAIT_MS);
    assert.deepEqual(checked, tuple(atom('checked'), true), 'the same term, strings and all');
  } finally {
    await node?.stop();
    await elixir.stop();
  }
});
