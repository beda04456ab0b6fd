// What a peer without the cookie can do to a TS node's connections with real BEAM
// nodes (OTP 25 and 27): nothing. A send_name that claims a connected node's name (with
// a new creation, as a restarted node would) gets `alive`, as OTP answers, and the live
// connection stays until the newcomer has answered the challenge; stalled attempts that
// claim a name keep no one out; a restarted BEAM node still gets in, replacing its old
// connection only once its new handshake has authenticated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Node, silentLogger, atom, tuple } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { hostileHandshake, type HostileOutcome } from '../support/hostile-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'attack-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';
const ROUNDS = 20;

/** Records the TS node's nodeup/nodedown events, in order. */
function recordEvents(node: Node): string[] {
  const events: string[] = [];
  node.on('nodeup', (name, info) => events.push(`up ${name}${info.hidden ? ' hidden' : ''}`));
  node.on('nodedown', (name) => events.push(`down ${name}`));
  return events;
}

/** One message from erl to a registered TS process, proving the connection carries traffic. */
async function messageFlows(node: Node, erl: ErlPeer, inbox: ReturnType<Node['spawn']>, n: number): Promise<void> {
  assert.equal(await erl.eval(`{inbox, '${TS}'} ! {hello, ${n}}.`), `{hello,${n}}`);
  assert.deepEqual(await inbox.receive(5000), tuple(atom('hello'), n));
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: send_name with a connected node's name, a new creation and no cookie leaves the connection up (${ROUNDS} times)`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const events = recordEvents(node);
    const inbox = node.spawn({ name: 'inbox' });
    try {
      assert.equal(await erl.eval(`net_adm:ping('${TS}').`), 'pong');
      assert.ok(await eventually(() => node.nodes().includes(ERL), 5000));
      for (let i = 0; i < ROUNDS; i++) {
        const outcome = await hostileHandshake({ host: '127.0.0.3', port, localAddress: '127.0.0.4', name: ERL, creation: 1000 + i, cookie: 'wrong-cookie' });
        outcome.socket.destroy();
        assert.equal(outcome.status, 'alive', 'OTP answers alive to a name it is connected to');
        assert.equal(outcome.acked, false, 'a wrong cookie never completes the handshake');
        await messageFlows(node, erl, inbox, i);
      }
      assert.equal(await node.ping(ERL), 'pong');
      assert.equal(await erl.eval('nodes().'), `['${TS}']`);
      assert.deepEqual(events, [`up ${ERL}`], 'no nodedown, no reconnect');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: stalled unauthenticated attempts claiming a name keep the real node out neither before nor after it connects`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, connectTimeout: 7000, logger: silentLogger });
    const held: HostileOutcome[] = [];
    try {
      // Before erl connects: each attempt gets its challenge and then stops answering.
      for (let i = 0; i < ROUNDS; i++) {
        const attempt = await hostileHandshake({ host: '127.0.0.3', port, localAddress: '127.0.0.4', name: ERL, creation: 2000 + i, cookie: 'wrong-cookie', stopAt: 'challenge_reply' });
        held.push(attempt);
        assert.equal(attempt.challenged, true);
      }
      assert.equal(await erl.eval(`net_adm:ping('${TS}').`), 'pong', 'the real node gets in while the fakes stall');
      assert.deepEqual(node.nodes(), [ERL]);
      // After: more stalled attempts, then the real node reconnects.
      for (let i = 0; i < ROUNDS; i++) {
        const attempt = await hostileHandshake({ host: '127.0.0.3', port, localAddress: '127.0.0.4', name: ERL, creation: 3000 + i, cookie: 'wrong-cookie', stopAt: 'challenge_reply' });
        held.push(attempt);
        assert.equal(attempt.status, 'alive');
      }
      assert.equal(await erl.eval(`net_kernel:disconnect('${TS}').`), 'true');
      assert.ok(await eventually(() => node.nodes().length === 0, 5000));
      assert.equal(await erl.eval(`net_adm:ping('${TS}').`), 'pong', 'and reconnects while they stall');
      assert.equal(await node.ping(ERL), 'pong');
      for (const h of held) h.socket.destroy();
      assert.ok(await eventually(() => node.nodes().includes(ERL), 1000), 'the fakes going away changes nothing');
      assert.equal(await node.ping(ERL), 'pong');
    } finally {
      for (const h of held) h.socket.destroy();
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a restarted node (new creation) whose old connection still looks alive replaces it only once authenticated`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const old = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    const events = recordEvents(node);
    let fresh: ErlPeer | undefined;
    try {
      assert.equal(await node.ping(ERL), 'pong');
      // The old incarnation freezes: its socket stays open, so TS still counts it connected
      // (ticktime 60 s). The new one cannot listen on the old one's port, so it only dials
      // out (-dist_listen false, which makes it hidden), with a wrong cookie first.
      old.signal('SIGSTOP');
      fresh = await ErlPeer.start({ name: ERL, cookie: 'wrong-cookie', otp, epmdless: { port }, args: ['-dist_listen', 'false'] });
      assert.equal(await fresh.eval(`net_adm:ping('${TS}').`), 'pang', 'a wrong cookie does not get in');
      assert.deepEqual(events, [`up ${ERL}`], 'and does not touch the old connection');
      assert.deepEqual(node.nodes(), [ERL]);

      assert.equal(await fresh.eval(`erlang:set_cookie(node(), '${COOKIE}'), net_adm:ping('${TS}').`), 'pong');
      assert.ok(await eventually(() => events.length === 3, 5000), events.join(', '));
      assert.deepEqual(events, [`up ${ERL}`, `down ${ERL}`, `up ${ERL} hidden`], 'the old connection goes down, then the new one comes up');
      // The old incarnation is still frozen, so only the new one can answer.
      assert.equal(await node.ping(ERL), 'pong');
    } finally {
      await node.stop();
      await fresh?.stop();
      await old.stop();
    }
  });
}
