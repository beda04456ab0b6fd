// global on the BEAM side keeps working with a visible TS node among its peers:
// global:sync() returns, names register and resolve, global:trans runs, and when
// the TS node drops one BEAM node, partition prevention disconnects nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node, silentLogger } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'global-cookie';

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: global:sync, register_name, whereis_name and trans work with a TS node in the cluster`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const a = await ErlPeer.start({ name: 'a@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    const c = await ErlPeer.start({ name: 'c@127.0.0.4', cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      assert.equal(await node.ping('a@127.0.0.2'), 'pong');
      assert.equal(await node.ping('c@127.0.0.4'), 'pong');
      assert.equal(await a.eval(`net_adm:ping('c@127.0.0.4').`), 'pong');
      // Each call is bounded: a hang is a failure, not a stuck test.
      const timed = (expr: string) => `Self = self(), P = spawn(fun() -> Self ! {done, (${expr})} end), receive {done, R} -> R after 5000 -> exit(P, kill), hung end.`;
      assert.equal(await a.eval(timed('global:sync()')), 'ok');
      assert.equal(await c.eval(timed('global:sync()')), 'ok');
      assert.equal(await a.eval(timed('global:register_name(shared, spawn(fun() -> receive stop -> ok end end))')), 'yes');
      assert.match(await c.eval(timed('global:whereis_name(shared)')), /^<\d+\.\d+\.\d+>$/);
      assert.equal(await c.eval(timed('global:trans({lock, self()}, fun() -> inside end)')), 'inside');

      // The TS node drops c; partition prevention must not cut anyone off.
      await node.disconnect('c@127.0.0.4');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await a.eval(`lists:member('c@127.0.0.4', nodes()).`), 'true');
      assert.equal(await a.eval(`lists:member('ts@127.0.0.3', nodes()).`), 'true');
      assert.equal(await a.eval(timed('global:sync()')), 'ok');
      assert.ok(await eventually(() => node.nodes().includes('a@127.0.0.2'), 1000));
    } finally {
      await node.stop();
      await a.stop();
      await c.stop();
    }
  });
}
