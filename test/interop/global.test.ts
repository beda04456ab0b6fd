// global on the BEAM side keeps working with a visible TS node among its peers:
// global:sync() returns, names register and resolve, global:trans runs, and when
// the TS node drops one BEAM node, partition prevention disconnects nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, CallError, Node, NotRegisteredError, Pid, Reference, silentLogger, Tuple, tuple, type Term } from '../../src/index.js';
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

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: send, cast and monitor to { global: name } resolve the name as global:send does, through registration, death and re-registration`, { timeout: 90_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const a = await ErlPeer.start({ name: 'a@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    const c = await ErlPeer.start({ name: 'c@127.0.0.4', cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    // A process that answers {From, M} with From ! {Tag, M}, a cast {From, M} with
    // From ! {Tag, cast, M}, and exits with `{stopped, Tag}` on stop.
    const echo = (tag: string) =>
      `spawn(fun L() -> receive {'$gen_cast', {From, M}} -> From ! {${tag}, cast, M}, L(); {From, M} when is_pid(From) -> From ! {${tag}, M}, L(); stop -> exit({stopped, ${tag}}) end end)`;
    const pidOf = (printed: string) => {
      const m = /^"<\d+\.(\d+)\.(\d+)>"$/.exec(printed);
      assert.ok(m, `a pid: ${printed}`);
      return (pid: Pid) => pid.id === Number(m[1]) && pid.serial === Number(m[2]);
    };
    const down = (ref: Reference) => (m: Term) => m instanceof Tuple && m[0] === atom('DOWN') && m[1] instanceof Reference && m[1].equals(ref);
    try {
      const gnsA = await a.eval(`whereis(global_name_server).`);
      const gnsC = await c.eval(`whereis(global_name_server).`);
      assert.equal(await a.eval(`net_adm:ping('c@127.0.0.4').`), 'pong');
      const p1 = pidOf(await a.eval(`P = ${echo('p1')}, yes = global:register_name(svc, P), pid_to_list(P).`));
      const me = node.spawn();

      // First use: connected to nobody, no node can be asked, so the name is unknown,
      // as global:send/2 on a node alone fails with badarg.
      await assert.rejects(node.send({ global: 'svc' }, atom('early')), (e: unknown) => e instanceof NotRegisteredError && e.global && e.registeredName === 'svc');
      const early = me.monitor({ global: 'svc' });
      assert.deepEqual(await me.receive(down(early), 5000), tuple(atom('DOWN'), early, atom('process'), tuple(atom('global'), atom('svc')), atom('noproc')));

      // After nodeup the name a registered before we came is found at once.
      assert.equal(await node.ping('a@127.0.0.2'), 'pong');
      const sentTo = await me.send({ global: 'svc' }, tuple(me.pid, atom('hello')));
      assert.ok(p1(sentTo) && sentTo.node.name === 'a@127.0.0.2', 'resolved to the registered pid');
      assert.deepEqual(await me.receive(5000), tuple(atom('p1'), atom('hello')));
      assert.ok(p1(await node.send({ global: 'svc' }, tuple(me.pid, atom('from_node')))));
      assert.deepEqual(await me.receive(5000), tuple(atom('p1'), atom('from_node')));
      await node.cast({ global: 'svc' }, tuple(me.pid, atom('cast')));
      assert.deepEqual(await me.receive(5000), tuple(atom('p1'), atom('cast'), atom('cast')));

      // A monitor watches the registered process and fires when it dies.
      const watch = me.monitor({ global: 'svc' });
      assert.ok(await eventually(async () => (await a.eval(`{monitored_by, M} = process_info(global:whereis_name(svc), monitored_by), [node(P) || P <- M].`)).includes('ts@127.0.0.3'), 5000), 'global and we monitor it');
      await me.send({ global: 'svc' }, atom('stop'));
      const died = await me.receive(down(watch), 5000);
      assert.ok(died instanceof Tuple && died[3] instanceof Pid && p1(died[3]), 'DOWN names the pid');
      assert.deepEqual(died[4], tuple(atom('stopped'), atom('p1')));

      // Its name went with it: sends fail, monitors get noproc, casts are no error (gen_server:cast catches).
      assert.ok(await eventually(async () => (await a.eval(`global:whereis_name(svc).`)) === 'undefined', 5000));
      await assert.rejects(me.send({ global: 'svc' }, atom('lost')), (e: unknown) => e instanceof NotRegisteredError && e.global);
      const none = me.monitor({ global: 'svc' });
      assert.deepEqual(await me.receive(down(none), 5000), tuple(atom('DOWN'), none, atom('process'), tuple(atom('global'), atom('svc')), atom('noproc')));
      await node.cast({ global: 'svc' }, atom('nobody_there'));

      // Registered again, on c, a node we are not connected to: a knows it, and the send
      // to the pid connects us to c.
      const p2 = pidOf(await c.eval(`P = ${echo('p2')}, yes = global:register_name(svc, P), pid_to_list(P).`));
      assert.equal(await a.eval(`global:sync().`), 'ok');
      const onC = await me.send({ global: 'svc' }, tuple(me.pid, atom('again')));
      assert.ok(p2(onC) && onC.node.name === 'c@127.0.0.4');
      assert.deepEqual(await me.receive(5000), tuple(atom('p2'), atom('again')));
      const watchP2 = me.monitor({ global: 'svc' });
      assert.ok(await eventually(async () => (await c.eval(`{monitored_by, M} = process_info(global:whereis_name(svc), monitored_by), [node(P) || P <- M].`)).includes('ts@127.0.0.3'), 5000));

      // Moved to another pid with re_register_name: sends follow the name, the monitor stays with p2.
      const p3 = pidOf(await a.eval(`P = ${echo('p3')}, yes = global:re_register_name(svc, P), pid_to_list(P).`));
      assert.equal(await c.eval(`global:sync().`), 'ok');
      assert.ok(p3(await me.send({ global: 'svc' }, tuple(me.pid, atom('moved')))));
      assert.deepEqual(await me.receive(5000), tuple(atom('p3'), atom('moved')));
      assert.equal(me.queued, 0, 'no DOWN: p2 lives on');
      me.send(onC, atom('stop'));
      const p2died = await me.receive(down(watchP2), 5000);
      assert.ok(p2died instanceof Tuple && p2died[3] instanceof Pid && p2(p2died[3]));

      // BEAM's global_name_server lived through all of it.
      assert.equal(await a.eval(`whereis(global_name_server).`), gnsA);
      assert.equal(await c.eval(`whereis(global_name_server).`), gnsC);
      assert.equal(await a.eval(`global:sync().`), 'ok');
    } finally {
      await node.stop();
      await a.stop();
      await c.stop();
    }
  });
}
