// The atom cache on send, against real OTP 25 and 27: 2,100 registered names on the
// erl node (more than the cache's 2,048 entries, so the table fills and later names go
// in full), each sent a message naming it; every process must get its own message, so
// a wrong cache index would show as a reply from the wrong name or none. A send that
// fails to encode in the middle must not leave the peer's cache and ours out of step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, EncodeError, Node, silentLogger, tuple, Tuple, type Term } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { freeSharedPort } from '../support/ports.js';

const COOKIE = 'atom-cache-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';
const NAMES = 2100;

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: messages to ${NAMES} registered names each reach their own process`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      // Each process answers {I, To} with {its registered name, I}.
      assert.equal(await erl.eval(`Self = self(),
        [spawn(fun() -> Name = list_to_atom("ac_" ++ integer_to_list(I)), register(Name, self()), Self ! {ready, I},
                        receive {I, To} -> To ! {Name, I} after 60000 -> ok end end) || I <- lists:seq(1, ${NAMES})],
        [receive {ready, I} -> ok end || I <- lists:seq(1, ${NAMES})], ok.`, 60_000), 'ok');
      // Connected first: a send to a node not yet connected is held, and encoded then, not by the connection.
      assert.equal(await node.ping(ERL), 'pong');
      const me = node.spawn();
      const half = NAMES / 2;
      for (let i = 1; i <= NAMES; i++) {
        if (i === half) {
          // A new name whose message cannot be encoded: nothing is sent, its cache entry is taken back.
          assert.throws(() => me.send({ name: `ac_${i}`, node: ERL }, { bad: undefined } as unknown as Term), EncodeError);
        }
        me.send({ name: `ac_${i}`, node: ERL }, tuple(i, me.pid));
      }
      const replies = new Map<number, string>();
      for (let k = 0; k < NAMES; k++) {
        const m = await me.receive(30_000);
        assert.ok(m instanceof Tuple && m.length === 2, `a {Name, I} reply: ${String(m)}`);
        replies.set(m[1] as number, String(m[0]));
      }
      assert.equal(replies.size, NAMES);
      for (let i = 1; i <= NAMES; i++) assert.equal(replies.get(i), `ac_${i}`);
      // The connection is whole: a ping still answers, and erl still lists us.
      assert.equal(await node.ping(ERL), 'pong');
      assert.equal(await erl.eval('nodes().'), `['${TS}']`);
      assert.equal(await node.rpc(ERL, 'erlang', 'whereis', [atom('ac_1')]), atom('undefined'));
    } finally {
      await node.stop();
      await erl.stop();
    }
  });
}
