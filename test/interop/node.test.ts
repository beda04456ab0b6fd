// A TypeScript node among real erl nodes (OTP 25, and OTP 27 from the trixie root):
// connect and ping both ways, nodes() on both sides, nodedown on kill and on freeze,
// reconnect after a restart, simultaneous connects, wrong cookies, EPMD and EPMD-less,
// and garbage on the listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { Node, silentLogger } from '../../src/index.js';
import { EpmdServer } from '../../src/epmd/server.js';
import { assertOnlyRogueDropped } from '../support/hostile-peer.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'interop-cookie';

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: connect and ping both ways; both sides list each other`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      const up = once(node, 'nodeup');
      assert.equal(await erl.eval(`net_adm:ping('ts@127.0.0.3').`), 'pong');
      assert.deepEqual((await up)[0], 'erl@127.0.0.2');
      assert.deepEqual(node.nodes(), ['erl@127.0.0.2']);
      assert.equal(await erl.eval('nodes().'), "['ts@127.0.0.3']");
      assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
      assert.equal(await erl.eval(`net_kernel:disconnect('ts@127.0.0.3').`), 'true');
      assert.ok(await eventually(() => node.nodes().length === 0, 5000), 'TS saw the disconnect');
      assert.equal(await node.ping('erl@127.0.0.2'), 'pong', 'TS reconnects and pings');
      assert.equal(await erl.eval('nodes().'), "['ts@127.0.0.3']");
      assert.equal(await node.ping('nobody@127.0.0.2'), 'pang');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a wrong cookie is refused both ways`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: 'other-cookie', otp, epmdless: { port } });
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      const result = await node.tryConnect('erl@127.0.0.2');
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : `${result.error.code} ${result.error.message}`, /ERR_HANDSHAKE|cookie|closed/);
      assert.equal(await erl.eval(`net_adm:ping('ts@127.0.0.3').`), 'pang');
      assert.deepEqual(node.nodes(), []);
      assert.equal(await erl.eval('nodes().'), '[]');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: nodedown when erl is killed, and when it freezes (ticks); reconnect after a restart`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, ticktime: 2, logger: silentLogger });
    let erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, otp, epmdless: { port }, ticktime: 2 });
    try {
      assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
      let down = once(node, 'nodedown');
      erl.signal('SIGKILL');
      assert.deepEqual((await down).slice(0, 2), ['erl@127.0.0.2', 'connection_closed']);
      await erl.stop();

      erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, otp, epmdless: { port }, ticktime: 2 });
      assert.equal(await node.ping('erl@127.0.0.2'), 'pong', 'reconnects to the new incarnation');
      down = once(node, 'nodedown');
      const frozenAt = Date.now();
      erl.signal('SIGSTOP');
      const [, reason] = await down;
      const waited = Date.now() - frozenAt;
      assert.equal(reason, 'net_tick_timeout');
      assert.ok(waited < 6000, `frozen peer detected after ${waited} ms with ticktime 2 s`);
      erl.signal('SIGCONT');
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: simultaneous connects from both sides end in one connection`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      for (let round = 0; round < 5; round++) {
        const [erlSays, tsSays] = await Promise.all([erl.eval(`net_kernel:connect_node('ts@127.0.0.3').`), node.connect('erl@127.0.0.2')]);
        assert.equal(erlSays, 'true');
        assert.equal(tsSays, true);
        assert.deepEqual(node.nodes(), ['erl@127.0.0.2']);
        assert.equal(await erl.eval('nodes().'), "['ts@127.0.0.3']");
        assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
        await node.disconnect('erl@127.0.0.2');
        assert.ok(await eventually(async () => (await erl.eval('nodes().')) === '[]', 5000));
      }
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: EPMD mode, with the embedded EPMD serving erl too`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const [epmdPort] = [await freeSharedPort(['127.0.0.1'])];
    // The TS node finds no EPMD on 127.0.0.1:epmdPort and starts its own; erl then registers with it.
    const node = await Node.start({ name: 'ts@127.0.0.1', cookie: COOKIE, epmd: { port: epmdPort }, logger: silentLogger });
    const erl = await ErlPeer.start({ name: 'erl@127.0.0.1', cookie: COOKIE, otp, epmdPort });
    try {
      assert.match(await erl.eval('erl_epmd:names("127.0.0.1").'), /"ts"/);
      assert.equal(await node.ping('erl@127.0.0.1'), 'pong');
      await node.disconnect('erl@127.0.0.1');
      // erl learns of the close asynchronously: a ping while it still holds the dying
      // connection answers pang (seen once under load). Wait until it has let go.
      assert.ok(await eventually(async () => (await erl.eval(`lists:member('ts@127.0.0.1', nodes()).`)) === 'false', 5000));
      assert.equal(await erl.eval(`net_adm:ping('ts@127.0.0.1').`), 'pong');
    } finally {
      await erl.stop();
      await node.stop();
    }
  });
}

test('random bytes and truncated handshakes close that socket only; the node keeps serving', async (t) => {
  if (!requireOtp(t, 25)) return;
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, connectTimeout: 1000, logger: silentLogger });
  const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, epmdless: { port } });
  try {
    const garbage = [Buffer.from([0xff, 0xff, 1, 2, 3]), Buffer.from([0, 5, 0x4e, 1]), Buffer.alloc(3000, 7), Buffer.from([0, 1])];
    await Promise.all(
      garbage.map(async (bytes) => {
        const s = createConnection({ host: '127.0.0.3', port });
        await once(s, 'connect');
        s.write(bytes);
        s.on('error', () => undefined);
        await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 3000))]);
        assert.ok(s.destroyed || s.readableEnded, 'the node closed the bad socket');
        s.destroy();
      }),
    );
    assert.equal(await erl.eval(`net_adm:ping('ts@127.0.0.3').`), 'pong');
  } finally {
    await erl.stop();
    await node.stop();
  }
});

test('eight TS nodes on 127.0.0.2-9, each with its own embedded EPMD, form a full mesh', async () => {
  const hosts = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
  const epmdPort = await freeSharedPort(hosts);
  const nodes: Node[] = [];
  try {
    for (const h of hosts) nodes.push(await Node.start({ name: `mesh@${h}`, cookie: COOKIE, epmd: { port: epmdPort }, logger: silentLogger }));
    await Promise.all(nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => a.connect(b.name))));
    for (const n of nodes) assert.equal(n.nodes().length, 7, `${n.name} sees ${n.nodes().join(', ')}`);
  } finally {
    for (const n of nodes) await n.stop();
  }
});

test('an EpmdServer binds only its own address', async () => {
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const a = await EpmdServer.start({ address: '127.0.0.2', port });
  const b = await EpmdServer.start({ address: '127.0.0.3', port });
  await a.stop();
  await b.stop();
});

test('a malformed message on an established connection drops that connection only', async (t) => {
  if (!requireOtp(t, 25)) return;
  const { initiateHandshake } = await import('../../src/distribution/initiator.js');
  const { LOCAL_DIST_FLAGS } = await import('../../src/distribution/flags.js');
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: silentLogger });
  const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, epmdless: { port } });
  try {
    assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
    // A hand-made peer completes a real handshake, then sends a packet whose control message is garbage.
    const socket = createConnection({ host: '127.0.0.3', port, localAddress: '127.0.0.4' });
    await once(socket, 'connect');
    await initiateHandshake(socket, { localName: 'rogue@127.0.0.4', peerName: 'ts@127.0.0.3', cookie: COOKIE, localFlags: LOCAL_DIST_FLAGS, creation: 9, timeoutMs: 3000 });
    socket.resume();
    assert.ok(await eventually(() => node.nodes().includes('rogue@127.0.0.4'), 3000));
    const down = once(node, 'nodedown');
    socket.write(Buffer.from([0, 0, 0, 6, 131, 68, 0, 104, 1, 200])); // header, then a tuple holding unknown tag 200
    const [who, reason, info] = await down;
    assert.equal(who, 'rogue@127.0.0.4');
    assert.equal(reason, 'connection_closed');
    assert.match(String(info.error?.message), /unknown tag 200/);
    await assertOnlyRogueDropped(node, erl, socket);
  } finally {
    await erl.stop();
    await node.stop();
  }
});
