// The test harness itself against real erl: for each OTP release, two EPMD-less peers
// on their own loopback addresses (one shared port) find each other, two peers find
// each other through a real epmd (over IPv4 and IPv6), and the eval channel survives
// what tests throw at it.
// An unavailable release is skipped with its reason; under CI it fails instead.
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErlPeer, otpAvailability, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { EpmdProcess } from '../support/epmd-process.js';
import { eventually, freePort, freeSharedPort } from '../support/ports.js';

const COOKIE = 'erl-peer-test';
/** Unique per run, so a leftover from an earlier run can never answer for us. */
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;

/** The state letter of a process (R, S, T for stopped...), from /proc/PID/stat. */
function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

for (const otp of [25, 27] as OtpRelease[]) {
  describe(`erl peers, OTP ${otp}`, () => {
    test('two EPMD-less peers on 127.0.0.2 and 127.0.0.3 ping each other', async (t) => {
      if (!requireOtp(t, otp)) return;
      const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
      const a = await ErlPeer.start({ name: `a${otp}_${RUN}@127.0.0.2`, cookie: COOKIE, otp, epmdless: { port } });
      t.after(() => a.stop());
      const b = await ErlPeer.start({ name: `b${otp}_${RUN}@127.0.0.3`, cookie: COOKIE, otp, epmdless: { port } });
      t.after(() => b.stop());

      assert.equal(await a.eval('erlang:system_info(otp_release).'), `"${otp}"`);
      assert.equal(await b.eval('erlang:system_info(otp_release).'), `"${otp}"`);
      assert.equal(await a.eval(`net_adm:ping('${b.name}').`), 'pong', a.output());
      assert.equal(await a.eval('nodes().'), `['${b.name}']`);
      assert.equal(await b.eval('nodes().'), `['${a.name}']`);
      // Each listens on its own address, on the shared port.
      assert.equal(await b.eval(`{port, P, _Version} = erl_epmd:port_please("a${otp}_${RUN}", {127,0,0,2}), P.`), String(port));
    });

    test('two peers find each other through a real epmd on a free port', async (t) => {
      if (!requireOtp(t, otp)) return;
      const epmd = await EpmdProcess.start({ port: await freePort() });
      t.after(() => epmd.stop());
      // erl registers with the EPMD on 127.0.0.1, and that is the only address it asks
      // on for a peer on 127.0.0.1; so both names use it.
      const c = await ErlPeer.start({ name: `c${otp}_${RUN}@127.0.0.1`, cookie: COOKIE, otp, epmdPort: epmd.port });
      t.after(() => c.stop());
      const d = await ErlPeer.start({ name: `d${otp}_${RUN}@127.0.0.1`, cookie: COOKIE, otp, epmdPort: epmd.port });
      t.after(() => d.stop());

      const names = await c.eval('{ok, Names} = net_adm:names(), lists:sort([N || {N, _} <- Names]).');
      assert.equal(names, `["c${otp}_${RUN}","d${otp}_${RUN}"]`);
      assert.equal(await d.eval(`net_adm:ping('${c.name}').`), 'pong', d.output());
      assert.equal(await c.eval('nodes().'), `['${d.name}']`);
    });

    test('IPv6: two peers on ::1 find each other through a real epmd', async (t) => {
      if (!requireOtp(t, otp)) return;
      // epmd listens on ::1 whatever -address says; an inet6_tcp node registers there.
      const epmd = await EpmdProcess.start({ port: await freePort() });
      t.after(() => epmd.stop());
      const x = await ErlPeer.start({ name: `x${otp}_${RUN}@::1`, cookie: COOKIE, otp, epmdPort: epmd.port });
      t.after(() => x.stop());
      const y = await ErlPeer.start({ name: `y${otp}_${RUN}@::1`, cookie: COOKIE, otp, epmdPort: epmd.port });
      t.after(() => y.stop());
      assert.equal(await x.eval(`net_adm:ping('${y.name}').`), 'pong', x.output());
      assert.equal(await y.eval('nodes().'), `['${x.name}']`);
    });

    test('eval: errors, large and unicode results, SIGSTOP/SIGCONT, stop by PID', async (t) => {
      if (!requireOtp(t, otp)) return;
      const port = await freeSharedPort(['127.0.0.2']);
      const e = await ErlPeer.start({ name: `e${otp}_${RUN}@127.0.0.2`, cookie: COOKIE, otp, epmdless: { port } });
      t.after(() => e.stop());
      assert.equal(e.otp, otp);
      assert.ok(e.pid > 0);

      await assert.rejects(e.eval('error(boom).'), /raised error:boom/);
      await assert.rejects(e.eval('1 +.'), /raised error:\{parse,/);
      assert.equal(await e.eval('X = 1, Y = 2, X + Y'), '3', 'the final dot is optional');
      assert.equal(await e.eval('X = 5, X.'), '5', 'every eval has fresh bindings');
      // Logger lines and io:format output around a result are not mistaken for it.
      assert.equal(await e.eval('io:format("<<<nessie-eval 1 OK 3131>>>~n"), logger:error("noise"), ok.'), 'ok');
      const big = await e.eval('lists:duplicate(300000, $a).', 30_000);
      assert.equal(big.length, 300_002);
      // Source and result travel as UTF-8 (results print with ~0tp, latin1 printable range).
      assert.equal(await e.eval('{byte_size(<<"héllo ☃"/utf8>>), \'héllo☃\', <<"héllo"/utf8>>}.'), '{10,\'héllo☃\',<<"héllo"/utf8>>}');
      // A step that dies from a link is reported, not left to time out.
      await assert.rejects(e.eval('spawn_link(fun() -> exit(bye) end), receive after 1000 -> ok end.'), /raised exit:bye/);

      // A signal is delivered asynchronously: wait until the kernel shows the node stopped.
      e.signal('SIGSTOP');
      assert.ok(await eventually(() => procState(e.pid) === 'T', 2000), `state ${procState(e.pid)}`);
      await assert.rejects(e.eval('ok.', 300), /no answer in 300 ms/);
      e.signal('SIGCONT');
      assert.equal(await e.eval('ok.'), 'ok');

      await e.stop();
      assert.equal(e.running(), false);
      await e.stop(); // idempotent
      await assert.rejects(e.eval('ok.'), /is not running/);
    });
  });
}

test('OTP 25 and OTP 27 peers ping each other', async (t) => {
  if (!requireOtp(t, 25) || !requireOtp(t, 27)) return;
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const old = await ErlPeer.start({ name: `old_${RUN}@127.0.0.2`, cookie: COOKIE, otp: 25, epmdless: { port } });
  t.after(() => old.stop());
  const young = await ErlPeer.start({ name: `young_${RUN}@127.0.0.3`, cookie: COOKIE, otp: 27, epmdless: { port } });
  t.after(() => young.stop());
  assert.equal(await young.eval(`net_adm:ping('${old.name}').`), 'pong', young.output());
  assert.equal(await old.eval(`erpc:call('${young.name}', erlang, system_info, [otp_release]).`), '"27"');
});

test('an unavailable release is reported with its reason', () => {
  for (const otp of [25, 27] as OtpRelease[]) {
    const a = otpAvailability(otp);
    assert.ok(a.ok || a.reason.length > 0);
  }
});
