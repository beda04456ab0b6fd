// Processes and messages between TypeScript and real BEAM nodes (OTP 25 and 27):
// rpc both ways, exposed functions only, gen_server calls both ways, 100,000 ordered
// messages each way, 64 MiB binaries each way, monitors and links, and Elixir's
// GenServer.call reaching a TS process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { atom, CallError, Node, RpcError, silentLogger, Tuple, tuple, type Pid } from '../../src/index.js';
import { parseGenCall } from '../../src/node/gen.js';
import { bigBinaryBothWays } from '../support/big-binary.js';
import { ErlPeer, erlCommand, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'messaging-cookie';

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
  });
}
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';

async function pair(otp: OtpRelease): Promise<{ node: Node; erl: ErlPeer; port: number }> {
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
  const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
  assert.equal(await node.ping(ERL), 'pong');
  return { node, erl, port };
}

/** A TS process registered as `name` that answers $gen_calls with {hello, Request}. */
function serveGenCalls(node: Node, name: string): void {
  const p = node.spawn({ name });
  void (async () => {
    for (;;) {
      const m = await p.receive().catch(() => undefined);
      if (m === undefined) return;
      const call = parseGenCall(m);
      if (call !== undefined) node.reply(call.from, tuple(atom('hello'), call.request));
    }
  })();
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: rpc into BEAM; rpc:call and erpc:call into exposed functions only`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      assert.equal(await node.rpc(ERL, 'erlang', 'node', []), atom(ERL));
      assert.equal(await node.rpc(ERL, 'lists', 'sum', [[1, 2, 3]]), 6);
      await assert.rejects(node.rpc(ERL, 'no_such_module', 'f', []), (e: unknown) => e instanceof RpcError && String((e.reason as Tuple)[0]) === 'EXIT');

      node.expose('js_math', { add: (a, b) => (a as number) + (b as number), fail: () => { throw new Error('boom'); } });
      assert.equal(await erl.eval(`rpc:call('${TS}', js_math, add, [1, 2]).`), '3');
      assert.equal(await erl.eval(`erpc:call('${TS}', js_math, add, [40, 2]).`), '42');
      // Anything not exposed is refused: BEAM sees undef, and no JS runs.
      assert.match(await erl.eval(`rpc:call('${TS}', os, cmd, ["id"]).`), /^\{badrpc,\{'EXIT',\{undef,/);
      assert.match(await erl.eval(`try erpc:call('${TS}', os, cmd, ["id"]) catch C:R -> {C, R} end.`), /^\{error,\{exception,undef,/);
      assert.match(await erl.eval(`try erpc:call('${TS}', js_math, fail, []) catch C:R -> {C, R} end.`), /js_exception,<<"boom">>/);
      // Any other spawn is refused at once.
      assert.equal(
        await erl.eval(`R = erlang:spawn_request('${TS}', erlang, apply, [fun() -> ok end, []], []), receive {spawn_reply, R, error, E} -> E after 5000 -> timeout end.`),
        'notsup',
      );
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: gen_server calls both ways`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      const apps = await node.call({ name: 'application_controller', node: ERL }, atom('which_applications'));
      assert.ok(Array.isArray(apps) && apps.some((a) => a instanceof Tuple && a[0] === atom('kernel')), 'a real gen_server answered');
      await assert.rejects(node.call({ name: 'nobody_here', node: ERL }, atom('x'), 2000), (e: unknown) => e instanceof CallError && e.reason === atom('noproc'));
      serveGenCalls(node, 'worker');
      assert.equal(await erl.eval(`gen_server:call({worker, '${TS}'}, ping).`), '{hello,ping}');
      assert.match(await erl.eval(`catch gen_server:call({not_registered, '${TS}'}, ping, 2000).`), /noproc/);
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: 100,000 messages each way arrive complete and in order`, { timeout: 120_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    const N = 100_000;
    try {
      // TS -> BEAM: a sink that checks the sequence.
      await erl.eval(`register(sink, spawn(fun() -> Loop = fun L(Next, InOrder) -> receive {seq, S} -> L(Next + 1, InOrder andalso S =:= Next); {done, From} -> From ! {result, Next, InOrder} end end, Loop(0, true) end)), ok.`);
      const me = node.spawn();
      for (let i = 0; i < N; i++) {
        if (!me.send({ name: 'sink', node: ERL }, tuple(atom('seq'), i))) await node.drain(ERL);
      }
      me.send({ name: 'sink', node: ERL }, tuple(atom('done'), me.pid));
      const result = (await me.receive(30_000)) as Tuple;
      assert.deepEqual([...result], [atom('result'), N, true]);

      // BEAM -> TS
      const sink = node.spawn({ name: 'ts_sink' });
      await erl.eval(`spawn(fun() -> [{ts_sink, '${TS}'} ! {seq, I} || I <- lists:seq(0, ${N - 1})] end), ok.`);
      for (let i = 0; i < N; i++) {
        const m = (await sink.receive(30_000)) as Tuple;
        if (m[1] !== i) assert.fail(`message ${i} arrived as ${String(m[1])}`);
      }
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a 64 MiB binary each way (fragmented)`, { timeout: 120_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      await bigBinaryBothWays(node, erl);
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: monitors and links fire on exit and on node down`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const { node, erl } = await pair(otp);
    try {
      // BEAM monitors a TS process that exits.
      const victim = node.spawn({ name: 'victim' });
      await erl.eval(`Self = self(), register(watcher, spawn(fun() -> Ref = monitor(process, {victim, '${TS}'}), Self ! ready, receive {'DOWN', Ref, process, _, R} -> register(down_seen, spawn(fun() -> receive {get, F} -> F ! R end end)) end end)), receive ready -> ok end.`);
      await new Promise((r) => setTimeout(r, 200));
      victim.exit(atom('bye'));
      assert.ok(await eventually(async () => (await erl.eval(`whereis(down_seen) =/= undefined.`)) === 'true', 5000));
      assert.equal(await erl.eval(`down_seen ! {get, self()}, receive R -> R after 2000 -> timeout end.`), 'bye');

      // A link from a TS process to a trapping BEAM process carries the exit.
      await erl.eval(`Self = self(), register(trapper, spawn(fun() -> process_flag(trap_exit, true), Self ! ready, receive {'EXIT', _, R} -> register(exit_seen, spawn(fun() -> receive {get, F} -> F ! R end end)) end end)), receive ready -> ok end.`);
      const linked = node.spawn();
      const trapper = (await node.rpc(ERL, 'erlang', 'whereis', [atom('trapper')])) as Pid;
      linked.link(trapper);
      await new Promise((r) => setTimeout(r, 200));
      linked.exit(atom('crash'));
      assert.ok(await eventually(async () => (await erl.eval(`whereis(exit_seen) =/= undefined.`)) === 'true', 5000));
      assert.equal(await erl.eval(`exit_seen ! {get, self()}, receive R -> R after 2000 -> timeout end.`), 'crash');

      // A BEAM process that links to TS processes and exits: the trapping one gets
      // {'EXIT', Pid, boom}, the other one exits with boom.
      const trapping = node.spawn({ name: 'trapping' });
      trapping.trapExit = true;
      const plain = node.spawn({ name: 'plain' });
      await erl.eval(`spawn(fun() -> [ {N, '${TS}'} ! {link_me, self()} || N <- [trapping, plain] ], receive go -> exit(boom) end end), ok.`);
      const fromErl = ((await trapping.receive(5000)) as Tuple)[1] as Pid;
      await plain.receive(5000);
      trapping.link(fromErl);
      plain.link(fromErl);
      await new Promise((r) => setTimeout(r, 200));
      node.send(fromErl, atom('go'));
      const exitMsg = (await trapping.receive(5000)) as Tuple;
      assert.equal(exitMsg[0], atom('EXIT'));
      assert.ok((exitMsg[1] as Pid).equals(fromErl));
      assert.equal(exitMsg[2], atom('boom'));
      assert.ok(await eventually(() => !plain.alive, 5000), 'the non-trapping process exited with the link');

      // Unlinking (UNLINK_ID, mandatory since OTP 26) really removes the link on the BEAM side.
      const survivor = node.spawn({ name: 'survivor' });
      await erl.eval(`spawn(fun() -> {survivor, '${TS}'} ! {hello, self()}, receive go -> exit(boom) end end), ok.`);
      const doomed = ((await survivor.receive(5000)) as Tuple)[1] as Pid;
      const linksOf = async () => ((await node.rpc(ERL, 'erlang', 'process_info', [doomed, atom('links')])) as Tuple)[1] as Pid[];
      survivor.link(doomed);
      assert.ok(await eventually(async () => (await linksOf()).some((p) => p.equals(survivor.pid)), 3000), 'BEAM sees the link');
      survivor.unlink(doomed);
      assert.ok(await eventually(async () => (await linksOf()).length === 0, 3000), 'BEAM dropped the link');
      node.send(doomed, atom('go'));
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(survivor.alive, 'no exit signal after the unlink');

      // A TS monitor on a BEAM process fires when it exits, and with noconnection when its node dies.
      const watcher = node.spawn();
      const shortLived = (await node.rpc(ERL, 'erlang', 'spawn', [atom('timer'), atom('sleep'), [300]])) as Pid;
      const ref1 = watcher.monitor(shortLived);
      const down1 = (await watcher.receive(5000)) as Tuple;
      assert.ok(down1[0] === atom('DOWN') && (down1[1] as typeof ref1).equals(ref1) && down1[4] === atom('normal'));
      const ref2 = watcher.monitor({ name: 'application_controller', node: ERL });
      erl.signal('SIGKILL');
      const down2 = (await watcher.receive(10_000)) as Tuple;
      assert.ok((down2[1] as typeof ref2).equals(ref2));
      assert.equal(down2[4], atom('noconnection'));
    } finally {
      await node.stop();
      await erl.stop();
    }
  });
}

test("Elixir's GenServer.call reaches a TS process", { timeout: 60_000 }, async (t) => {
  if (!requireOtp(t, 27)) return;
  const port = await freeSharedPort(['127.0.0.3', '127.0.0.4']);
  const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
  try {
    serveGenCalls(node, 'worker');
    const [otpPeers] = erlCommand(27);
    // Asynchronously: a synchronous spawn would block the event loop our node answers on.
    const elixir = await run(otpPeers, [
      'elixir', '--name', 'ex@127.0.0.4', '--cookie', COOKIE,
      '--erl', `-start_epmd false -erl_epmd_port ${port} -kernel inet_dist_use_interface {127,0,0,4}`,
      '-e', `IO.inspect(GenServer.call({:worker, :"${TS}"}, :from_elixir))`,
    ], 45_000);
    if (/not found|No such file/.test(elixir.stderr)) {
      if (process.env.CI) assert.fail(`elixir unavailable: ${elixir.stderr}`);
      t.skip(`elixir unavailable: ${elixir.stderr.slice(0, 200)}`);
      return;
    }
    assert.equal(elixir.stdout.trim(), '{:hello, :from_elixir}', elixir.stderr);
  } finally {
    await node.stop();
  }
});
