// node.serve(): a gen_server in TypeScript, exercised from TypeScript (node.call,
// node.cast, node.send). The same servers called from real BEAM and Elixir nodes are in
// test/interop/gen-server.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, callReply, CallError, Node, noReply, silentLogger, tuple, type Term, type Tuple } from '../../src/index.js';
import { freePort, loopbackAddresses } from '../support/ports.js';

async function startNode(): Promise<Node> {
  const [host] = loopbackAddresses(1);
  return Node.start({ name: `gs@${host}`, cookie: 'c', epmd: false, port: await freePort(host), logger: silentLogger });
}

test('serve: calls get replies, casts and infos change the state, in order', async () => {
  const node = await startNode();
  try {
    const infos: Term[] = [];
    const server = await node.serve('counter', {
      init: async () => 10,
      handleCall: (request, _from, n) => {
        if (request === atom('get')) return n;
        const [, by] = request as Tuple;
        return callReply(atom('ok'), n + (by as number));
      },
      handleCast: (request, n) => n + ((request as Tuple)[1] as number),
      handleInfo: (message) => {
        infos.push(message);
      },
    });
    assert.equal(node.whereis('counter')?.equals(server.pid), true);
    assert.equal(await node.call('counter', atom('get')), 10);
    assert.equal(await node.call('counter', tuple(atom('add'), 5)), atom('ok'));
    node.cast('counter', tuple(atom('add'), 100));
    node.send('counter', atom('hello'));
    assert.equal(await node.call(server.pid, atom('get')), 115, 'the cast was handled before the later call');
    assert.deepEqual(infos, [atom('hello')], 'handleInfo returning nothing keeps the state');
    server.stop();
    await server.stopped;
    assert.equal(node.whereis('counter'), undefined);
    await assert.rejects(node.call('counter', atom('get'), 1000), (e: unknown) => e instanceof CallError && e.reason === atom('noproc'));
  } finally {
    await node.stop();
  }
});

test('serve: one message at a time, each async handler awaited before the next', async () => {
  const node = await startNode();
  try {
    const log: string[] = [];
    await node.serve('slow', {
      handleCall: async (request) => {
        log.push(`start ${String(request)}`);
        await new Promise((r) => setTimeout(r, 20));
        log.push(`end ${String(request)}`);
        return request;
      },
    });
    const replies = await Promise.all([1, 2, 3].map((i) => node.call('slow', i)));
    assert.deepEqual(replies, [1, 2, 3]);
    assert.deepEqual(log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  } finally {
    await node.stop();
  }
});

test('serve: a handler that throws or rejects ends that server with {js_exception, Message}; the caller gets the reason, the node lives', async () => {
  const [host] = loopbackAddresses(1);
  const errors: string[] = [];
  const logger = { ...silentLogger, error: (m: string) => void errors.push(m) };
  const node = await Node.start({ name: `gs@${host}`, cookie: 'c', epmd: false, port: await freePort(host), logger });
  try {
    const sync = await node.serve('sync_crash', { handleCall: () => { throw new Error('boom'); } });
    await assert.rejects(node.call('sync_crash', atom('x')), (e: unknown) => {
      assert.ok(e instanceof CallError);
      const reason = e.reason as Tuple;
      assert.equal(reason[0], atom('js_exception'));
      assert.equal(Buffer.from(reason[1] as Buffer).toString(), 'boom');
      return true;
    });
    await sync.stopped;
    assert.equal(sync.alive, false);
    assert.deepEqual(errors, [`gen_server sync_crash terminated: {atom("js_exception"), 'boom'}`]);

    const rejecting = await node.serve({ handleCast: async () => Promise.reject(new Error('async boom')) });
    const watcher = node.spawn();
    const ref = watcher.monitor(rejecting.pid);
    node.cast(rejecting.pid, atom('x'));
    const down = (await watcher.receive(5000)) as Tuple;
    assert.ok(down[0] === atom('DOWN') && (down[1] as typeof ref).equals(ref));
    assert.equal(((down[4] as Tuple)[0]), atom('js_exception'));

    // A reply with no Erlang form is the handler's bug: {js_bad_return, Why}, as rpc reports it.
    await node.serve('bad_return', { handleCall: () => undefined as unknown as Term });
    await assert.rejects(node.call('bad_return', atom('x')), (e: unknown) => e instanceof CallError && (e.reason as Tuple)[0] === atom('js_bad_return'));

    // Calls and casts to a server without that handler end it as Elixir's defaults do.
    await node.serve('no_call', {});
    await assert.rejects(node.call('no_call', atom('q')), (e: unknown) => e instanceof CallError && (e.reason as Tuple)[0] === atom('bad_call'));

    assert.equal(await node.ping(node.name), 'pong');
    const still = await node.serve({ handleCall: () => atom('fine') });
    assert.equal(await node.call(still.pid, atom('x')), atom('fine'));
  } finally {
    await node.stop();
  }
});

test('serve: noReply answers later with node.reply; a failing init rejects and leaves no process', async () => {
  const node = await startNode();
  try {
    const waiting: Term[] = [];
    await node.serve('deferred', {
      init: () => 0,
      handleCall: (request, from, n) => {
        if (request === atom('release')) {
          for (const f of waiting.splice(0)) node.reply(f, n);
          return callReply(atom('released'), n);
        }
        waiting.push(from);
        return noReply(n + 1);
      },
    });
    const early = [node.call('deferred', atom('wait')), node.call('deferred', atom('wait'))];
    assert.equal(await node.call('deferred', atom('release')), atom('released'));
    assert.deepEqual(await Promise.all(early), [2, 2]);

    await assert.rejects(node.serve('never', { init: () => { throw new Error('no config'); } }), /no config/);
    assert.equal(node.whereis('never'), undefined);
    await assert.rejects(node.serve('deferred', {}), /already registered/, 'a taken name rejects, it does not throw');
  } finally {
    await node.stop();
  }
});

test('serve: a reply with no Erlang form for a caller on another node ends the server with js_bad_return; nothing is sent, the connection lives', async () => {
  const [host, otherHost] = loopbackAddresses(2);
  const port = await freePort(host);
  const server = await Node.start({ name: `gs@${host}`, cookie: 'c', epmd: false, port, logger: silentLogger });
  const caller = await Node.start({ name: `caller@${otherHost}`, cookie: 'c', epmd: false, port, logger: silentLogger });
  try {
    await server.serve('bad_return', { handleCall: (request) => (request === atom('bad') ? (undefined as unknown as Term) : request) });
    await server.serve('echo', { handleCall: (request) => request });
    const bad = { name: 'bad_return', node: server.name };
    assert.equal(await caller.call(bad, atom('fine')), atom('fine'), 'the reply goes out when it encodes');
    await assert.rejects(
      caller.call(bad, atom('bad')),
      (e: unknown) => e instanceof CallError && (e.reason as Tuple)[0] === atom('js_bad_return') && String((e.reason as Tuple)[1]).includes('undefined'),
    );
    assert.equal(server.whereis('bad_return'), undefined, 'the server ended');
    assert.equal(await caller.call({ name: 'echo', node: server.name }, atom('still_up')), atom('still_up'), 'the connection lives on');
  } finally {
    await caller.stop();
    await server.stop();
  }
});
