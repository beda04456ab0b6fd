// The node core against real BEAM nodes (OTP 25 and 27): the first use of a node we
// are not connected to (send, call, monitor wait for the connection, in order; a node
// that cannot be reached fails them at once, as BEAM does), calls whose node goes
// down, system processes that a peer tries to kill, nodedown reasons, and the io
// requests of code we run there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { atom, CallError, Node, Tuple, tuple, type Logger, type Term } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'core-cookie';
const ERL = 'erl@127.0.0.2';
const TS = 'ts@127.0.0.3';
/** Nothing listens there: connects to it fail at once. */
const GHOST = 'ghost@127.0.0.4';

function recordingLogger(lines: string[]): Logger {
  const log = (m: string) => lines.push(m);
  return { debug: () => undefined, info: log, warn: log, error: log };
}

async function start(otp: OtpRelease, logs: string[] = []) {
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
  const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, connectTimeout: 3000, logger: recordingLogger(logs) });
  return { erl, node, port };
}

/** A process registered as `name` on erl that collects what it is sent; `collected` gives it back. */
async function collector(erl: ErlPeer, name: string): Promise<void> {
  await erl.eval(`Pid = spawn(fun Loop() -> receive {get, From} -> From ! get(), Loop(); M -> put(ms, [M | case get(ms) of undefined -> []; L -> L end]), Loop() end end), register(${name}, Pid), ok.`);
}
async function collected(erl: ErlPeer, name: string): Promise<string> {
  return erl.eval(`${name} ! {get, self()}, receive D -> lists:reverse(proplists:get_value(ms, D, [])) after 5000 -> timeout end.`);
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: the first sends, call and monitor to a node not yet connected wait for it, in order`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { erl, node } = await start(otp);
    try {
      await collector(erl, 'inbox');
      assert.deepEqual(node.nodes(), []);
      for (let i = 1; i <= 1000; i++) assert.equal(node.send({ name: 'inbox', node: ERL }, i), true);
      const p = node.spawn();
      const ref = p.monitor({ name: 'inbox', node: ERL });
      const apps = await node.call({ name: 'application_controller', node: ERL }, atom('which_applications'));
      assert.ok(Array.isArray(apps));
      const expected = `[${Array.from({ length: 1000 }, (_, i) => i + 1).join(',')}]`;
      assert.equal(await collected(erl, 'inbox'), expected, 'all 1000, in order, none lost to the connect');
      // The monitor set up before the connection works: the process exits, DOWN arrives.
      await erl.eval('exit(whereis(inbox), bye).');
      const down = (await p.receive(5000)) as Tuple;
      assert.deepEqual([down[0], down[1], down[4]], [atom('DOWN'), ref, atom('bye')]);
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a node that cannot be reached fails calls, monitors and links at once`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { erl, node } = await start(otp);
    try {
      const startedAt = Date.now();
      await assert.rejects(node.call({ name: 'anything', node: GHOST }, atom('x'), 30_000), (e: unknown) => {
        assert.ok(e instanceof CallError, String(e));
        assert.deepEqual(e.reason, tuple(atom('nodedown'), atom(GHOST)));
        return true;
      });
      assert.ok(Date.now() - startedAt < 30_000, 'failed before its timeout');
      const p = node.spawn();
      p.trapExit = true;
      const ref = p.monitor({ name: 'anything', node: GHOST });
      const down = (await p.receive(10_000)) as Tuple;
      assert.deepEqual(down, tuple(atom('DOWN'), ref, atom('process'), tuple(atom('anything'), atom(GHOST)), atom('noconnection')));
      assert.equal(node.send({ name: 'anything', node: GHOST }, 1), true, 'held, then dropped as BEAM drops it');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a call whose node goes down fails with {nodedown, Node}`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { erl, node } = await start(otp);
    try {
      await erl.eval(`register(sleeper, spawn(fun() -> receive never -> ok end end)), ok.`);
      const call = node.call({ name: 'sleeper', node: ERL }, atom('hello'), 30_000);
      assert.ok(await eventually(() => node.nodes().includes(ERL), 5000));
      erl.signal('SIGKILL');
      await assert.rejects(call, (e: unknown) => e instanceof CallError && String(e.reason) === String(tuple(atom('nodedown'), atom(ERL))));
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a peer that kills net_kernel, rex, global_name_server and our own sender does not take them down`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const logs: string[] = [];
    const { erl, node, port } = await start(otp, logs);
    try {
      node.expose('js', { id: (x) => x });
      await erl.eval(`register(killer, spawn(fun() -> receive {pids, Ps} -> [exit(P, kill) || P <- Ps] end end)), ok.`);
      const victims = ['net_kernel', 'rex', 'global_name_server'].map((n) => node.whereis(n)!);
      // The pid of our own sending process reaches erl as the sender of this message.
      node.send({ name: 'killer', node: ERL }, tuple(atom('pids'), victims));
      assert.ok(await eventually(async () => (await erl.eval('whereis(killer).')) === 'undefined', 5000), 'the killer ran');
      // Our own sending process is the From of our calls: a server that kills its callers.
      await erl.eval(`register(caller_killer, spawn(fun() -> receive {'$gen_call', {From, _}, _} -> exit(From, kill) end end)), ok.`);
      await assert.rejects(node.call({ name: 'caller_killer', node: ERL }, atom('hi'), 1000));
      assert.equal(node.send({ name: 'nobody', node: ERL }, 1), true, 'node.send still has a sender');
      assert.deepEqual(['net_kernel', 'rex', 'global_name_server'].map((n) => node.whereis(n)), victims);
      assert.equal(await erl.eval(`net_adm:ping('${TS}').`), 'pong');
      assert.equal(await erl.eval(`rpc:call('${TS}', js, id, [7]).`), '7');
      assert.equal(await node.ping(ERL), 'pong');
      assert.ok(logs.some((l) => l.includes('refused to kill system process')));
      // A new BEAM node joining still gets through global's sync with us.
      const late = await ErlPeer.start({ name: 'late@127.0.0.4', cookie: COOKIE, otp, epmdless: { port } });
      try {
        assert.equal(await late.eval(`pong = net_adm:ping('${TS}'), global:sync().`, 15_000), 'ok');
      } finally {
        await late.stop();
      }
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: nodedown reasons are net_kernel's words`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { erl, node } = await start(otp);
    try {
      assert.equal(await node.ping(ERL), 'pong');
      let down = once(node, 'nodedown');
      await node.disconnect(ERL);
      assert.deepEqual((await down).slice(0, 2), [ERL, 'disconnect']);
      assert.equal(await node.ping(ERL), 'pong');
      down = once(node, 'nodedown');
      await erl.eval(`erlang:disconnect_node('${TS}').`);
      assert.deepEqual((await down).slice(0, 2), [ERL, 'connection_closed']);
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: io requests of code we run there: output is logged, input is refused`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const logs: string[] = [];
    const { erl, node } = await start(otp, logs);
    try {
      assert.equal(await node.rpc(ERL, 'io', 'format', ['hello ~p and ~s~n', [42, 'there']]), atom('ok'));
      assert.ok(logs.some((l) => l.includes('hello 42 and there')), logs.join('\n'));
      const line: Term = await node.rpc(ERL, 'io', 'get_line', ['prompt> ']);
      assert.deepEqual(line, tuple(atom('error'), atom('enotsup')));
    } finally {
      await node.stop();
      await erl.stop();
    }
  });
}

test('a nodeup or nodedown listener that throws is logged; the connection and the process live on', async () => {
  const port = await freeSharedPort(['127.0.0.5', '127.0.0.6']);
  const logs: string[] = [];
  const a = await Node.start({ name: 'a@127.0.0.5', cookie: COOKIE, epmd: false, port, logger: recordingLogger(logs) });
  const b = await Node.start({ name: 'b@127.0.0.6', cookie: COOKIE, epmd: false, port, logger: recordingLogger([]) });
  try {
    a.on('nodeup', () => {
      throw new Error('listener bug');
    });
    a.on('nodedown', () => {
      throw new Error('listener bug');
    });
    assert.equal(await b.ping(a.name), 'pong', 'b dialled a; a accepted and its listener threw');
    assert.equal(await a.ping(b.name), 'pong');
    await b.disconnect(a.name);
    assert.ok(await eventually(() => a.nodes().length === 0, 5000));
    assert.equal(logs.filter((l) => l.includes('listener threw')).length, 2);
  } finally {
    await a.stop();
    await b.stop();
  }
});
