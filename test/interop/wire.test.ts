// The wire layer's promises, live against real erl nodes (OTP 25 and 27): a send that
// cannot be encoded leaves the connection whole (the next message arrives intact), and
// a hand-made peer that holds the cookie but breaks a limit (a message over the decode
// budget; a peer that never reads) loses its own connection while the node keeps
// serving the erl peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { EncodeError, Node, type Term } from '../../src/index.js';
import { initiateHandshake } from '../../src/distribution/initiator.js';
import { DistConnection } from '../../src/distribution/connection.js';
import { payloadExit2, regSend, sendSender } from '../../src/distribution/control.js';
import { DFLAG_DIST_HDR_ATOM_CACHE, DFLAG_EXIT_PAYLOAD, DFLAG_FRAGMENTS, DFLAG_SEND_SENDER, LOCAL_DIST_FLAGS } from '../../src/distribution/flags.js';
import { frame4 } from '../../src/distribution/framing.js';
import { atom, Pid, tuple } from '../../src/term/types.js';
import type { Logger } from '../../src/logger.js';
import { silentLogger } from '../../src/logger.js';
import { assertOnlyRogueDropped } from '../support/hostile-peer.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'wire-cookie';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
}

/** A hand-made peer: a raw socket that completes a real handshake with ts@127.0.0.3, then does as the test says. */
async function rogue(port: number): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.3', port, localAddress: '127.0.0.4' });
  await once(socket, 'connect');
  await initiateHandshake(socket, { localName: 'rogue@127.0.0.4', peerName: 'ts@127.0.0.3', cookie: COOKIE, localFlags: LOCAL_DIST_FLAGS, creation: 9, timeoutMs: 3000 });
  socket.on('error', () => undefined);
  return socket;
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: after a send that cannot be encoded, the next message on the connection arrives intact`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger: recordingLogger() });
    try {
      assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
      // A process on erl that reports the first two messages it gets (or that none came).
      const received = erl.eval(`register(sink, self()),
        Get = fun() -> receive M -> M after 10000 -> nothing end end,
        First = Get(), Second = Get(), {First, Second}.`, 30_000);
      assert.ok(await eventually(async () => (await erl.eval('whereis(sink) =/= undefined.')) === 'true', 5000));
      const sink = { name: 'sink', node: 'erl@127.0.0.2' };
      assert.throws(
        () => node.send(sink, { items: [1, 2, 3, { a: 1, b: undefined }] } as unknown as Term),
        (e: unknown) => e instanceof EncodeError && e.path === 'payload.items[3].b',
      );
      node.send(sink, tuple(atom('ok'), 'intact'));
      node.send(sink, tuple(atom('ok'), 'and the next'));
      assert.equal(await received, '{{ok,<<"intact">>},{ok,<<"and the next">>}}');
      assert.deepEqual(node.nodes(), ['erl@127.0.0.2'], 'the connection stayed up');
      assert.equal(await erl.eval('nodes().'), "['ts@127.0.0.3']");
      assert.doesNotMatch(erl.output(), /corrupt/i);
    } finally {
      await node.stop();
      await erl.stop();
    }
  });

  test(`OTP ${otp}: a message over the decode budget drops only its connection; the node keeps serving erl`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const logger = recordingLogger();
    const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger });
    const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    try {
      assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
      const socket = await rogue(port);
      socket.resume();
      assert.ok(await eventually(() => node.nodes().includes('rogue@127.0.0.4'), 3000));
      // {SEND, '', Pid} then 600,000 nested lists (1.2 million terms, 3.6 MB): over the default budget of 2^20.
      const levels = 600_000;
      const control = [104, 3, 97, 2, 119, 0, 88, 119, 12, ...Buffer.from('ts@127.0.0.3'), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
      const body = Buffer.alloc(3 + control.length + levels * 6 + 1); // LIST_EXT headers, then levels + 1 NILs
      body.set([131, 68, 0, ...control]);
      let p = 3 + control.length;
      for (let i = 0; i < levels; i++, p += 5) body.set([108, 0, 0, 0, 1], p);
      body.fill(106, p);
      const down = once(node, 'nodedown');
      socket.write(frame4(body));
      const [who, reason, info] = await down;
      assert.equal(who, 'rogue@127.0.0.4');
      assert.equal(reason, 'connection_closed');
      assert.equal(info.error?.code, 'ERR_TERM_DECODE_BUDGET');
      assert.match(String(info.error?.message), /decode budget/);
      assert.match(logger.warnings.join('\n'), /rogue@127\.0\.0\.4: ERR_TERM_DECODE_BUDGET/);
      await assertOnlyRogueDropped(node, erl, socket);
    } finally {
      await erl.stop();
      await node.stop();
    }
  });
  test(`OTP ${otp}: erl takes our pass-through form (112) and downgraded control messages (SEND, EXIT2)`, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, otp, epmdless: { port } });
    const socket = createConnection({ host: '127.0.0.2', port, localAddress: '127.0.0.3' });
    let conn: DistConnection | undefined;
    try {
      await once(socket, 'connect');
      // We advertise no distribution header, fragments, SEND_SENDER or EXIT_PAYLOAD, so erl
      // agrees on none of them (dist_util takes the intersection) and expects the
      // pass-through form, SEND and EXIT2: what we send to a peer that lacks them.
      const localFlags = LOCAL_DIST_FLAGS & ~(DFLAG_DIST_HDR_ATOM_CACHE | DFLAG_FRAGMENTS | DFLAG_SEND_SENDER | DFLAG_EXIT_PAYLOAD);
      const hs = await initiateHandshake(socket, { localName: 'ts@127.0.0.3', peerName: 'erl@127.0.0.2', cookie: COOKIE, localFlags, creation: 3, timeoutMs: 5000 });
      conn = new DistConnection(socket, {
        localName: 'ts@127.0.0.3', peerName: hs.peerName, peerFlags: hs.peerFlags & localFlags,
        peerCreation: hs.peerCreation, ticktimeMs: 60_000, maxMessageSize: 1 << 20, busyLimit: 1 << 20, fragmentSize: 64 * 1024,
        handler: { onControl: () => undefined, onClose: () => undefined }, logger: silentLogger,
      });
      conn.start(hs.leftover);
      const received = erl.eval(`process_flag(trap_exit, true), register(sink, self()),
        Get = fun() -> receive M -> M after 10000 -> nothing end end,
        First = Get(), Second = Get(), {'EXIT', _From, Why} = Get(), {First, Second, Why}.`, 40_000);
      assert.ok(await eventually(async () => (await erl.eval('whereis(sink) =/= undefined.')) === 'true', 5000));
      const me = new Pid(atom('ts@127.0.0.3'), 1, 0, 3);
      conn.send(regSend(me, atom('sink')), tuple(atom('pass_through'), Buffer.from('ok')));
      const sinkBin = await erl.eval('term_to_binary(whereis(sink)).');
      const pidBytes = Buffer.from(JSON.parse(`[${sinkBin.slice(2, -2)}]`) as number[]);
      const { decode } = await import('../../src/term/decode.js');
      const sinkPid = decode(pidBytes) as Pid;
      conn.send(sendSender(me, sinkPid), atom('downgraded'));
      conn.send(payloadExit2(me, sinkPid), tuple(atom('shutdown'), atom('as_exit2')));
      assert.equal(await received, '{{pass_through,<<"ok">>},downgraded,{shutdown,as_exit2}}');
      assert.equal(await erl.eval('nodes(connected).'), "['ts@127.0.0.3']", 'erl kept the connection');
      assert.doesNotMatch(erl.output(), /corrupt/i);
    } finally {
      conn?.close();
      socket.destroy();
      await erl.stop();
    }
  });
}

test('a peer that completes the handshake and never reads is dropped at the send queue cap; erl is not', async (t) => {
  if (!requireOtp(t, 25)) return;
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const logger = recordingLogger();
  const node = await Node.start({ name: 'ts@127.0.0.3', cookie: COOKIE, epmd: false, port, logger });
  const erl = await ErlPeer.start({ name: 'erl@127.0.0.2', cookie: COOKIE, epmdless: { port } });
  try {
    assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
    const socket = await rogue(port);
    socket.pause(); // never reads again
    assert.ok(await eventually(() => node.nodes().includes('rogue@127.0.0.4'), 3000));
    const down = once(node, 'nodedown');
    const target = new Pid(atom('rogue@127.0.0.4'), 1, 0, 9);
    const chunk = Buffer.alloc(1024 * 1024, 1);
    // A sender that ignores `busy`, one MiB per turn of the event loop; the default cap is 64 MiB.
    let sent = 0;
    while (node.nodes().includes('rogue@127.0.0.4') && sent < 500) {
      node.send(target, chunk);
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    const [who, reason, info] = await down;
    assert.equal(who, 'rogue@127.0.0.4');
    assert.equal(reason, 'connection_closed');
    assert.equal(info.error?.code, 'ERR_SEND_QUEUE_OVERFLOW');
    assert.match(String(info.error?.message), /send queue over its cap/);
    assert.match(logger.warnings.join('\n'), /rogue@127\.0\.0\.4: ERR_SEND_QUEUE_OVERFLOW send queue over its cap/);
    assert.ok(sent < 500, `dropped after ${sent} MiB`);
    socket.destroy();
    assert.deepEqual(node.nodes(), ['erl@127.0.0.2']);
    assert.equal(await node.ping('erl@127.0.0.2'), 'pong');
  } finally {
    await erl.stop();
    await node.stop();
  }
});
