// A node with busyWait on, against real OTP 25: sequential rpc calls both ways and
// ordered ping-pongs, the answers right and in order; once the node stops, nothing
// keeps the event loop polling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, Node, silentLogger, tuple, Tuple } from '../../src/index.js';
import { ErlPeer, requireOtp } from '../support/erl-peer.js';
import { freeSharedPort } from '../support/ports.js';

const COOKIE = 'busy-wait-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';

test('OTP 25: busy waiting changes no answer, and stops with the node', async (t) => {
  if (!requireOtp(t, 25)) return;
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp: 25, epmdless: { port } });
  const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger, busyWait: 10_000 });
  try {
    node.expose('js_math', { add: (a, b) => (a as number) + (b as number) });
    const pong = node.spawn({ name: 'pong' });
    void pong.serve((m) => {
      if (m instanceof Tuple && m[0] === atom('ping')) pong.send(m[1] as never, tuple(atom('pong'), m[2]));
    });
    for (let i = 0; i < 200; i++) assert.equal(await node.rpc(ERL, 'erlang', 'abs', [-i]), i);
    // erl calls and pings back-to-back: each answer must be the one asked for, in order.
    assert.equal(
      await erl.eval(`lists:foldl(fun(I, ok) -> I2 = I * 2, I2 = rpc:call('${TS}', js_math, add, [I, I]), ok end, ok, lists:seq(1, 200)).`),
      'ok',
    );
    assert.equal(
      await erl.eval(`lists:foldl(fun(I, ok) -> {pong, '${TS}'} ! {ping, self(), I}, receive {pong, I} -> ok after 5000 -> {timeout, I} end end, ok, lists:seq(1, 200)).`),
      'ok',
    );
    // Closing writes to the peer (the last flush) and so opens a window: stop ends it.
    await node.stop();
    assert.equal(process.getActiveResourcesInfo().includes('Immediate'), false, 'no poll left pending after stop');
  } finally {
    await node.stop();
    await erl.stop();
  }
});
