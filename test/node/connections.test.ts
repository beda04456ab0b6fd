// The connection table between TS nodes over real loopback sockets: names refused before
// any lookup, nothing left behind by simultaneous connect storms or by peers that go
// away mid-handshake, and refused handshakes logged with their source, once per interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { InvalidOptionError } from '../../src/errors.js';
import { LOCAL_DIST_FLAGS } from '../../src/distribution/flags.js';
import type { Logger } from '../../src/logger.js';
import { Connections, MAX_HANDSHAKES_PER_ADDRESS, type PortLookup } from '../../src/node/connections.js';
import { hostileHandshake } from '../support/hostile-peer.js';
import { eventually, freeSharedPort, loopbackAddresses } from '../support/ports.js';

const COOKIE = 'connections-cookie';

interface Lines extends Logger {
  lines: Array<{ level: string; message: string }>;
}

function recordingLogger(): Lines {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A Connections on `address`:`port` (EPMD-less: every peer on the same port), counting ups and downs. */
async function table(name: string, port: number, logger: Logger = recordingLogger(), connectTimeoutMs = 3000, portLookup: PortLookup = { kind: 'fixed', port }) {
  const counts = { up: 0, down: 0 };
  const c = new Connections({
    name,
    cookie: COOKIE,
    creation: 1 + Math.floor(Math.random() * 1e9),
    flags: LOCAL_DIST_FLAGS,
    portLookup,
    ticktimeMs: 60_000,
    connectTimeoutMs,
    maxMessageSize: 1 << 20,
    busyLimit: 1 << 20,
    fragmentSize: 1 << 16,
    logger,
    events: { onControl: () => undefined, onUp: () => void counts.up++, onDown: () => void counts.down++ },
  });
  await c.listen(name.slice(name.indexOf('@') + 1), port);
  return { c, counts };
}

const settled = (c: Connections) => {
  const h = c.handshakes();
  return h.dialling.length === 0 && h.accepting.length === 0 && h.pending.length === 0;
};

test('connect() refuses a malformed name at once with InvalidOptionError, asking no EPMD', async () => {
  const [a] = loopbackAddresses(1);
  const port = await freeSharedPort([a]);
  // A stand-in EPMD on the names' host that counts who asks it anything.
  let asked = 0;
  const epmd = createServer((s) => {
    asked++;
    s.destroy();
  });
  await new Promise<void>((resolve) => epmd.listen({ host: a, port: 0 }, resolve));
  const { c } = await table(`a@${a}`, port, recordingLogger(), 3000, { kind: 'epmd', port: (epmd.address() as AddressInfo).port });
  try {
    for (const bad of ['nohost', a, '', `@${a}`, 'name@', `a@b@${a}`, `sp ace@${a}`, `tab\t@${a}`, `${'x'.repeat(256 - a.length)}@${a}`]) {
      const r = await c.connect(bad);
      assert.ok(!r.ok && r.error instanceof InvalidOptionError, `${JSON.stringify(bad)}: ${r.ok ? 'connected' : r.error.message}`);
      assert.match(r.error.message, /basename@host/);
    }
    assert.equal(asked, 0);
    assert.deepEqual(c.handshakes(), { dialling: [], accepting: [], pending: [] });
    // The longest name allowed (255 characters) is asked for.
    const r = await c.connect(`${'x'.repeat(255 - 1 - a.length)}@${a}`);
    assert.equal(r.ok, false);
    assert.equal(asked, 1);
  } finally {
    await c.stop();
    await new Promise((resolve) => epmd.close(resolve));
  }
});

test('a storm of simultaneous connects ends in one connection each way and leaves nothing pending', async () => {
  const hosts = loopbackAddresses(4);
  const port = await freeSharedPort(hosts);
  const nodes = await Promise.all(hosts.map((h, i) => table(`n${i}@${h}`, port)));
  try {
    for (let round = 0; round < 5; round++) {
      // Every node dials every other one at once, each pair from both sides, twice over.
      const results = await Promise.all(nodes.flatMap((a, i) => nodes.filter((_, j) => j !== i).flatMap((_, j) => {
        const peer = `n${j >= i ? j + 1 : j}@${hosts[j >= i ? j + 1 : j]}`;
        return [a.c.connect(peer), a.c.connect(peer)];
      })));
      for (const r of results) assert.equal(r.ok, true, r.ok ? '' : r.error.message);
      for (const n of nodes) assert.equal(n.c.names(false).length, 3);
      assert.ok(await eventually(() => nodes.every((n) => settled(n.c)), 5000), JSON.stringify(nodes.map((n) => n.c.handshakes())));
      for (const n of nodes) for (const peer of n.c.names(false)) n.c.disconnect(peer);
      assert.ok(await eventually(() => nodes.every((n) => n.c.names(false).length === 0), 5000));
    }
  } finally {
    for (const n of nodes) await n.c.stop();
  }
});

test('peers that go away at each step of the handshake leave no entry behind; a real connect then succeeds', async () => {
  const [a, b, evil] = loopbackAddresses(3);
  const port = await freeSharedPort([a, b]);
  const A = await table(`a@${a}`, port);
  const B = await table(`b@${b}`, port);
  try {
    for (const stopAt of ['challenge_reply', 'end'] as const) {
      // Claiming the name of b, which A is not connected to: A answers ok and challenges.
      const h = await hostileHandshake({ host: a, port, localAddress: evil, name: `b@${b}`, creation: 7, cookie: 'wrong', stopAt });
      assert.equal(h.status, 'ok');
      assert.equal(h.acked, false);
      if (stopAt === 'challenge_reply') assert.deepEqual(A.c.handshakes().accepting, [`b@${b}`], 'listed while it runs');
      h.socket.destroy();
      assert.ok(await eventually(() => settled(A.c), 3000), JSON.stringify(A.c.handshakes()));
    }
    assert.deepEqual(await B.c.connect(`a@${a}`), { ok: true });
    // Connected now: claims of b's name get `alive`; going away after it changes nothing.
    for (const stopAt of ['alive', 'challenge_reply', 'end'] as const) {
      const h = await hostileHandshake({ host: a, port, localAddress: evil, name: `b@${b}`, creation: 8, cookie: 'wrong', stopAt });
      assert.equal(h.status, 'alive');
      h.socket.destroy();
      assert.ok(await eventually(() => settled(A.c), 3000), JSON.stringify(A.c.handshakes()));
    }
    assert.deepEqual(A.c.names(false), [`b@${b}`]);
    assert.deepEqual(A.counts, { up: 1, down: 0 });
    assert.equal(B.c.disconnect(`a@${a}`), true);
    assert.ok(await eventually(() => A.c.names(false).length === 0, 3000));
    assert.deepEqual(await A.c.connect(`b@${b}`), { ok: true });
    assert.ok(settled(A.c) && settled(B.c));
  } finally {
    await A.c.stop();
    await B.c.stop();
  }
});

test('a dial answered nok waits for the winning incoming attempt', async () => {
  // 'z' sorts after 'a': when both dial, z answers a's attempt nok and a's dial waits for z's.
  const [ha, hz] = loopbackAddresses(2);
  const port = await freeSharedPort([ha, hz]);
  const A = await table(`a@${ha}`, port);
  const Z = await table(`z@${hz}`, port);
  try {
    for (let i = 0; i < 5; i++) {
      const [ra, rz] = await Promise.all([A.c.connect(`z@${hz}`), Z.c.connect(`a@${ha}`)]);
      assert.deepEqual([ra, rz], [{ ok: true }, { ok: true }]);
      assert.deepEqual([A.c.names(false), Z.c.names(false)], [[`z@${hz}`], [`a@${ha}`]]);
      Z.c.disconnect(`a@${ha}`);
      assert.ok(await eventually(() => A.c.names(false).length === 0 && settled(A.c) && settled(Z.c), 3000));
    }
  } finally {
    await A.c.stop();
    await Z.c.stop();
  }
});

test(`one address holds at most ${MAX_HANDSHAKES_PER_ADDRESS} handshakes at once; other addresses still get in`, async () => {
  const [a, b, evil] = loopbackAddresses(3);
  const port = await freeSharedPort([a, b]);
  const A = await table(`a@${a}`, port, recordingLogger(), 10_000);
  const B = await table(`b@${b}`, port);
  const held: Array<{ socket: { destroy(): void } }> = [];
  try {
    for (let i = 0; i < MAX_HANDSHAKES_PER_ADDRESS; i++) {
      const h = await hostileHandshake({ host: a, port, localAddress: evil, name: `b@${b}`, creation: i + 1, cookie: 'wrong', stopAt: 'challenge_reply' });
      held.push(h);
      assert.equal(h.challenged, true, `attempt ${i}`);
    }
    const over = await hostileHandshake({ host: a, port, localAddress: evil, name: `b@${b}`, creation: 999, cookie: 'wrong', stopAt: 'challenge_reply' });
    held.push(over);
    assert.equal(over.status, '', 'closed unanswered');
    assert.deepEqual(await B.c.connect(`a@${a}`), { ok: true }, 'the real b gets in meanwhile');
    for (const h of held) h.socket.destroy();
    assert.ok(await eventually(() => settled(A.c), 3000));
    const again = await hostileHandshake({ host: a, port, localAddress: evil, name: `c@${evil}`, creation: 1, cookie: COOKIE });
    assert.equal(again.acked, true, 'the address may try again once its handshakes are over');
  } finally {
    for (const h of held) h.socket.destroy();
    await A.c.stop();
    await B.c.stop();
  }
});

test('refused handshakes are logged with their source address:port, and a flood once per interval', async () => {
  const [a, evil] = loopbackAddresses(2);
  const port = await freeSharedPort([a]);
  const logger = recordingLogger();
  const A = await table(`a@${a}`, port, logger);
  const ATTEMPTS = 30;
  try {
    for (let i = 0; i < ATTEMPTS; i++) {
      const h = await hostileHandshake({ host: a, port, localAddress: evil, name: `x${i}@${evil}`, creation: i + 1, cookie: 'wrong' });
      assert.equal(h.acked, false);
    }
    assert.ok(await eventually(() => settled(A.c), 3000));
  } finally {
    await A.c.stop(); // writes the summary of what the interval held back
  }
  const refused = logger.lines.filter((l) => /failed handshakes|refused incoming/.test(l.message));
  // The first in full, with the source; the rest in one summary (two, if the flood crossed an interval).
  assert.ok(refused.length >= 2 && refused.length <= 4, refused.map((l) => l.message).join('\n'));
  assert.equal(refused[0].level, 'warn');
  assert.match(refused[0].message, new RegExp(`from ${evil.replace(/\./g, '\\.')}:\\d+ \\(claiming to be x0@`));
  assert.match(refused[0].message, /cookies differ/);
  assert.doesNotMatch(logger.lines.map((l) => l.message).join('\n'), new RegExp(COOKIE));
  let counted = 1;
  for (const l of refused.slice(1)) {
    if (l.message.startsWith('refused incoming')) {
      counted++; // a new interval began during the flood
      continue;
    }
    const m = /^(\d+) more failed handshakes in the last \d+ s, from (.*); last: /.exec(l.message);
    assert.ok(m !== null, l.message);
    assert.match(m[2], new RegExp(`${evil.replace(/\./g, '\\.')} \\(x\\d+\\)`));
    counted += Number(m[1]);
  }
  assert.equal(counted, ATTEMPTS, 'every failure is counted');
});
