// node.serve() called from real BEAM nodes (OTP 25 and 27) and from Elixir 1.18:
// gen_server:call/cast, GenServer.call/cast, calls handled one at a time, and a handler
// that throws: the BEAM caller exits with our reason, as with a crashed gen_server, and
// the node goes on serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { atom, callReply, CallError, Node, silentLogger, tuple, type GenServer, type Term, type Tuple } from '../../src/index.js';
import { ErlPeer, erlCommand, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { freeSharedPort } from '../support/ports.js';

const COOKIE = 'gen-server-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';

/** `counter`: get, {add, N} (call, replies ok), {add, N} (cast), {slow, Id} (logs start/end around an await), crash (throws). */
function serveCounter(node: Node, log: string[]): Promise<GenServer> {
  return node.serve('counter', {
    init: () => 0,
    handleCall: async (request, _from, n) => {
      if (request === atom('get')) return n;
      if (request === atom('crash')) throw new Error('boom');
      const [tag, arg] = request as Tuple;
      if (tag === atom('add')) return callReply(atom('ok'), n + (arg as number));
      log.push(`start ${String(arg)}`);
      await new Promise((r) => setTimeout(r, 30));
      log.push(`end ${String(arg)}`);
      return arg;
    },
    handleCast: (request, n) => n + ((request as Tuple)[1] as number),
  });
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: gen_server:call and cast reach node.serve; a throwing handler exits the caller with our reason`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      const log: string[] = [];
      const counter = await serveCounter(node, log);
      const dest = `{counter, '${TS}'}`;
      assert.equal(await erl.eval(`gen_server:call(${dest}, get).`), '0');
      assert.equal(await erl.eval(`gen_server:call(${dest}, {add, 2}).`), 'ok');
      assert.equal(await erl.eval(`ok = gen_server:cast(${dest}, {add, 40}), gen_server:call(${dest}, get).`), '42');
      assert.equal(await node.call('counter', atom('get')), 42);

      // Three callers at once: each call runs to its end before the next starts.
      const replies = await erl.eval(
        `Self = self(), [spawn(fun() -> Self ! {I, gen_server:call(${dest}, {slow, I})} end) || I <- [1, 2, 3]], lists:sort([receive {I, R} -> {I, R} after 10000 -> timeout end || I <- [1, 2, 3]]).`,
      );
      assert.equal(replies, '[{1,1},{2,2},{3,3}]');
      assert.equal(log.length, 6);
      for (let i = 0; i < 6; i += 2) assert.equal(log[i].replace('start', 'end'), log[i + 1], `calls interleaved: ${log.join(', ')}`);

      // A handler that throws: the caller's gen_server:call exits with {Reason, {gen_server, call, ...}}.
      const crashed = await erl.eval(`catch gen_server:call(${dest}, crash).`);
      assert.match(crashed, /^\{'EXIT',\{\{js_exception,<<"boom">>\},\{gen_server,call,\[\{counter,'ts@127.0.0.3'\},crash/);
      await counter.stopped;
      assert.equal(await erl.eval(`catch gen_server:call(${dest}, get, 2000).`).then((s) => /noproc/.test(s)), true, 'the server is gone, as a crashed gen_server is');

      // The node lives: it answers, and a new server under the same name serves.
      assert.equal(await erl.eval(`net_adm:ping('${TS}').`), 'pong');
      await serveCounter(node, log);
      assert.equal(await erl.eval(`gen_server:call(${dest}, get).`), '0');
      await assert.rejects(node.call('counter', atom('crash')), (e: unknown) => e instanceof CallError && (e.reason as Tuple)[0] === atom('js_exception'));

      // gen_server:stop, as for any gen_server; other sys requests are refused as sys does.
      const again = await serveCounter(node, log);
      assert.match(await erl.eval(`catch sys:suspend(${dest}, 2000).`), /unknown_system_msg,suspend/);
      assert.equal(await erl.eval(`gen_server:call(${dest}, get).`), '0', 'still serving');
      assert.equal(await erl.eval(`gen_server:stop(${dest}, shutdown, 5000).`), 'ok');
      await again.stopped;
      assert.equal(again.alive, false);
    } finally {
      await node.stop();
      await erl.stop();
    }
  });
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
  });
}

test("Elixir's GenServer.call and cast reach node.serve; a throwing handler exits the Elixir caller", { timeout: 60_000 }, async (t) => {
  if (!requireOtp(t, 27)) return;
  const port = await freeSharedPort(['127.0.0.3', '127.0.0.4']);
  const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
  try {
    const counter = await serveCounter(node, []);
    const casts: Term[] = [];
    const recorder = await node.serve('recorder', { init: () => atom('recording'), handleCast: (m) => void casts.push(m) });
    const [otpPeers] = erlCommand(27);
    const script = [
      `dest = {:counter, :"${TS}"}`,
      `IO.inspect(GenServer.call(dest, {:add, 7}))`,
      `GenServer.cast(dest, {:add, 1})`,
      `GenServer.cast({:recorder, :"${TS}"}, %{from: :elixir})`,
      `IO.inspect(GenServer.call(dest, :get))`,
      `IO.inspect(try do GenServer.call(dest, :crash) catch :exit, reason -> {:caught, reason} end, width: :infinity)`,
      `IO.inspect(GenServer.stop({:recorder, :"${TS}"}))`,
    ].join('\n');
    // Asynchronously: a synchronous spawn would block the event loop our node answers on.
    const elixir = await run(otpPeers, [
      'elixir', '--name', 'ex@127.0.0.4', '--cookie', COOKIE,
      '--erl', `-start_epmd false -erl_epmd_port ${port} -kernel inet_dist_use_interface {127,0,0,4}`,
      '-e', script,
    ], 45_000);
    if (/not found|No such file/.test(elixir.stderr)) {
      if (process.env.CI) assert.fail(`elixir unavailable: ${elixir.stderr}`);
      t.skip(`elixir unavailable: ${elixir.stderr.slice(0, 200)}`);
      return;
    }
    const lines = elixir.stdout.trim().split('\n');
    assert.equal(lines[0], ':ok', elixir.stderr);
    assert.equal(lines[1], '8', elixir.stderr);
    assert.match(lines[2], /^\{:caught, \{\{:js_exception, "boom"\}, \{GenServer, :call, \[\{:counter, :"ts@127.0.0.3"\}, :crash/, elixir.stderr);
    assert.equal(lines[3], ':ok', elixir.stderr);
    await counter.stopped;
    await recorder.stopped;
    assert.equal(casts.length, 1);
    assert.equal((casts[0] as Map<Term, Term>).get(atom('from')), atom('elixir'));
    assert.equal(await node.ping(node.name), 'pong');
  } finally {
    await node.stop();
  }
});
