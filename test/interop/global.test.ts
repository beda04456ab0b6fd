// global on the BEAM side keeps working with a visible TS node among its peers:
// global:sync() returns, names register and resolve, global:trans runs, and when
// the TS node drops one BEAM node, partition prevention disconnects nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, CallError, Node, silentLogger, tuple } from '../../src/index.js';
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

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: globalWhereis and call({ global }) find a process registered in BEAM's global`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.5']);
    const a = await ErlPeer.start({ name: 'a@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const other = await Node.start({ name: 'ts2@127.0.0.5', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      assert.equal(await node.globalWhereis('svc'), undefined, 'no node connected: nobody to ask');
      assert.equal(await node.ping('a@127.0.0.2'), 'pong');
      // A TS peer answers for itself at once (it holds no global names), so it holds nothing up.
      assert.equal(await node.ping('ts2@127.0.0.5'), 'pong');
      const registered = await a.eval(
        `P = spawn(fun L() -> receive {'$gen_call', From, R} -> gen:reply(From, {echo, R}), L() end end), yes = global:register_name(svc, P), pid_to_list(P).`,
      );
      const pid = await node.globalWhereis('svc', 3000);
      assert.ok(pid !== undefined, 'found');
      assert.equal(pid.node.name, 'a@127.0.0.2');
      // pid_to_list on its own node prints "<0.Id.Serial>".
      assert.equal(registered, `"<0.${pid.id}.${pid.serial}>"`, 'the same pid erl registered');
      assert.equal(await node.globalWhereis('nobody', 3000), undefined);
      assert.deepEqual(await node.call({ global: 'svc' }, atom('hi'), 3000), tuple(atom('echo'), atom('hi')));
      await assert.rejects(node.call({ global: 'nobody' }, atom('hi'), 3000), (e: unknown) => e instanceof CallError && e.reason === atom('noproc'));
      // BEAM's global_name_server was not disturbed by our questions.
      assert.equal(await a.eval(`global:sync().`), 'ok');
    } finally {
      await node.stop();
      await other.stop();
      await a.stop();
    }
  });
}
