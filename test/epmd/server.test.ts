// The embedded EPMD spoken to with raw sockets: exact answers, one request per
// connection, registrations tied to sockets, and bad clients that only lose their own
// connection.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { EpmdError, InvalidOptionError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { EpmdServer } from '../../src/epmd/server.js';
import { composeAlive2Req, composeNamesReq, composePortPlease2Req, composeNamesResp, MAX_REQUEST_BYTES } from '../../src/epmd/messages.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** A raw client: collects what the server sends and notices when it closes. */
class Raw {
  data = Buffer.alloc(0);
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.data = Buffer.concat([this.data, d])));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }
  static open(port: number, host = '127.0.0.1', localAddress?: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress }, () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  /** Resolves once `n` bytes have arrived (bounded by `ms`). */
  async bytes(n: number, ms = 2000): Promise<Buffer> {
    assert.ok(await eventually(() => this.data.length >= n, ms), `got ${this.data.length} of ${n} bytes`);
    return this.data;
  }
  /** Resolves once the server has closed the connection (bounded by `ms`). */
  async waitClosed(ms = 2000): Promise<void> {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    assert.notEqual(await Promise.race([this.closed, timeout]), 'timeout', 'the server did not close the connection');
  }
}

/** Sends `request` on a new connection; resolves to everything up to the server's close. */
async function ask(port: number, request: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  const raw = await Raw.open(port, host);
  raw.socket.write(request);
  await raw.waitClosed();
  return raw.data;
}

const alive2 = (name: string, port: number, v = 6) =>
  composeAlive2Req({ port, nodeType: 77, protocol: 0, highestVersion: v, lowestVersion: Math.min(v, 5), name });

/** Registers `name` over a raw socket and returns the socket (the registration). */
async function registerRaw(port: number, name: string, distPort: number, v = 6): Promise<{ raw: Raw; creation: number }> {
  const raw = await Raw.open(port);
  raw.socket.write(alive2(name, distPort, v));
  const resp = await raw.bytes(v >= 6 ? 6 : 4);
  assert.equal(resp[1], 0, `registration of ${name} refused`);
  return { raw, creation: v >= 6 ? resp.readUInt32BE(2) : resp.readUInt16BE(2) };
}

/** Whether this machine has the address (IPv6 loopback can be switched off in containers). */
function canBind(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port: 0 }, () => srv.close(() => resolve(true)));
  });
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

const servers: EpmdServer[] = [];
async function start(o: Partial<Parameters<typeof EpmdServer.start>[0]> = {}): Promise<EpmdServer> {
  const s = await EpmdServer.start({ address: '127.0.0.1', port: 0, ...o });
  servers.push(s);
  return s;
}
after(async () => {
  for (const s of servers) await s.stop();
});

describe('EpmdServer requests', () => {
  test('ALIVE2_REQ registers for as long as the socket lives', async () => {
    const s = await start();
    const before = Math.floor(Date.now() / 1000);
    const { raw, creation } = await registerRaw(s.port, 'app', 4370);
    assert.equal(raw.data[0], 118, 'ALIVE2_X_RESP for a version 6 node');
    // epmd seeds a new name's counter with the clock, then adds one.
    assert.ok(creation >= before + 1 && creation <= Math.floor(Date.now() / 1000) + 1, `creation ${creation}`);
    assert.deepEqual(s.names(), [{ name: 'app', port: 4370 }]);
    raw.socket.destroy();
    assert.ok(await eventually(() => s.names().length === 0, 2000), 'unregistered when its socket closed');
    // The same name again: the next creation.
    const again = await registerRaw(s.port, 'app', 4371);
    assert.equal(again.creation, creation + 1);
    again.raw.socket.destroy();
  });

  test('a version 5 node gets ALIVE2_RESP with a creation of 1 to 3', async () => {
    const s = await start();
    const { raw, creation } = await registerRaw(s.port, 'old', 4370, 5);
    assert.equal(raw.data[0], 121);
    assert.ok(creation >= 1 && creation <= 3, `creation ${creation}`);
    raw.socket.destroy();
  });

  test('a name already registered is refused with creation 99, and the first stays', async () => {
    const s = await start();
    const first = await registerRaw(s.port, 'app', 4370);
    // 76 ALIVE2_X_RESP | 01 refused | 00000063 creation 99
    assert.deepEqual(await ask(s.port, alive2('app', 4371)), hex('76 01 00000063'));
    assert.deepEqual(s.names(), [{ name: 'app', port: 4370 }]);
    first.raw.socket.destroy();
  });

  test('PORT_PLEASE2_REQ answers the registration, or 119 1, and closes', async () => {
    const s = await start();
    const reg = await registerRaw(s.port, 'app', 0x1112);
    const expected = hex(`
      77 00   1112  4d  00  0006 0005 0003 617070 0000
    `); // PORT2_RESP ok | PortNo | NodeType | Protocol | High | Low | Nlen | "app" | Elen
    assert.deepEqual(await ask(s.port, composePortPlease2Req('app')), expected);
    assert.deepEqual(await ask(s.port, composePortPlease2Req('nobody')), hex('77 01'));
    reg.raw.socket.destroy();
  });

  test('NAMES_REQ: the bound port, then one line per node, newest first, in one write', async () => {
    const s = await start();
    const a = await registerRaw(s.port, 'a', 1001);
    const b = await registerRaw(s.port, 'b', 1002);
    const resp = await ask(s.port, composeNamesReq());
    assert.deepEqual(resp, composeNamesResp(s.port, [{ name: 'b', port: 1002 }, { name: 'a', port: 1001 }]));
    assert.equal(resp.toString('latin1', 4), 'name b at port 1002\nname a at port 1001\n');
    a.raw.socket.destroy();
    b.raw.socket.destroy();
  });

  test('a request that arrives one byte at a time', async () => {
    const s = await start();
    const raw = await Raw.open(s.port);
    for (const byte of composeNamesReq()) {
      raw.socket.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 5));
    }
    await raw.waitClosed();
    assert.deepEqual(raw.data, composeNamesResp(s.port, []));
  });
});

describe('EpmdServer under bad clients', () => {
  const cases: Array<[string, Buffer]> = [
    ['an empty request', hex('0000')],
    ['a length over the limit', hex('ffff')],
    ['DUMP_REQ (not served)', hex('0001 64')],
    ['KILL_REQ (not served)', hex('0001 6b')],
    ['ALIVE2_REQ whose Nlen passes its end', hex('0010 78 1112 4d 00 0006 0006 00ff 617070 0000')],
    ['bytes after a request', Buffer.concat([composeNamesReq(), hex('00')])],
    ['two requests at once', Buffer.concat([composeNamesReq(), composeNamesReq()])],
    ['a name of 256 bytes', Buffer.concat([hex('0101 7a'), Buffer.alloc(256, 0x61)])],
  ];
  for (const [label, bytes] of cases) {
    test(`${label}: that connection closes unanswered, the rest go on`, async () => {
      const logger = recordingLogger();
      const s = await start({ logger });
      const reg = await registerRaw(s.port, 'app', 4370);
      assert.deepEqual(await ask(s.port, bytes), Buffer.alloc(0));
      assert.ok(logger.lines.some((l) => l.startsWith('warn ')), logger.lines.join('\n'));
      assert.deepEqual(s.names(), [{ name: 'app', port: 4370 }]);
      assert.deepEqual(await ask(s.port, composeNamesReq()), composeNamesResp(s.port, [{ name: 'app', port: 4370 }]));
      reg.raw.socket.destroy();
    });
  }

  test('an oversized length is refused before its bytes are awaited', async () => {
    const s = await start({ requestTimeoutMs: 60_000 });
    const raw = await Raw.open(s.port);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(MAX_REQUEST_BYTES + 1);
    raw.socket.write(len);
    await raw.waitClosed(1000);
  });

  test('bytes on a registration socket end the registration, as in epmd', async () => {
    const s = await start();
    const reg = await registerRaw(s.port, 'app', 4370);
    reg.raw.socket.write(hex('00'));
    await reg.raw.waitClosed();
    assert.ok(await eventually(() => s.names().length === 0, 2000), 'unregistered');
  });

  test('a connection that sends nothing, or half a request, is closed after requestTimeoutMs', async () => {
    const s = await start({ requestTimeoutMs: 150 });
    const silent = await Raw.open(s.port);
    const half = await Raw.open(s.port);
    half.socket.write(alive2('app', 4370).subarray(0, 7));
    const reg = await registerRaw(s.port, 'kept', 4370);
    const t0 = Date.now();
    await silent.waitClosed(2000);
    await half.waitClosed(2000);
    assert.ok(Date.now() - t0 < 1500);
    // Registrations are exempt from the deadline.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(s.names(), [{ name: 'kept', port: 4370 }]);
    reg.raw.socket.destroy();
  });

  test('maxConnections bounds the connections open at once', async () => {
    const logger = recordingLogger();
    const s = await start({ maxConnections: 2, logger });
    const a = await Raw.open(s.port);
    const b = await Raw.open(s.port);
    const c = await Raw.open(s.port);
    await c.waitClosed();
    assert.ok(logger.lines.some((l) => l.includes('dropping')), logger.lines.join('\n'));
    a.socket.destroy();
    await a.closed;
    assert.ok(await eventually(async () => (await ask(s.port, composeNamesReq())).length === 4, 2000), 'a slot freed up');
    b.socket.destroy();
  });
});

// Every test address is loopback, which epmd's rule counts as local; these tests tell
// the server that only 127.0.0.1 is, so sockets from 127.0.0.5 play remote hosts.
const onlyLoopbackOne = (remote: string) => remote === '127.0.0.1';
const REMOTE = '127.0.0.5';

describe('EpmdServer under remote clients', () => {
  test('remote sockets that send nothing cannot take the room kept for local registrations', async () => {
    const logger = recordingLogger();
    const s = await start({ maxConnections: 4, reservedForLocal: 2, isLocalPeer: onlyLoopbackOne, requestTimeoutMs: 60_000, remoteRequestTimeoutMs: 60_000, logger });
    const idle = [];
    for (let i = 0; i < 4; i++) idle.push(await Raw.open(s.port, '127.0.0.1', REMOTE));
    // Two of the four get the remote share; the other two are dropped at once.
    await idle[2].waitClosed();
    await idle[3].waitClosed();
    assert.ok(logger.lines.some((l) => /remote connections open.*kept for local nodes/.test(l)), logger.lines.join('\n'));
    const a = await registerRaw(s.port, 'local_a', 4370);
    const b = await registerRaw(s.port, 'local_b', 4371);
    assert.deepEqual(s.names().map((n) => n.name), ['local_b', 'local_a']);
    // And the remote share frees up as its sockets go.
    idle[0].socket.destroy();
    await idle[0].closed;
    assert.ok(await eventually(async () => (await Raw.open(s.port, '127.0.0.1', REMOTE).then(async (r) => {
      r.socket.write(composeNamesReq());
      await r.waitClosed();
      return r.data.length;
    })) > 4, 2000), 'a remote NAMES_REQ is served again');
    for (const r of [idle[1], a.raw, b.raw]) r.socket.destroy();
  });

  test('remote sockets that send nothing are closed after remoteRequestTimeoutMs, local ones after requestTimeoutMs', async () => {
    const s = await start({ isLocalPeer: onlyLoopbackOne, requestTimeoutMs: 60_000, remoteRequestTimeoutMs: 100 });
    const local = await Raw.open(s.port);
    const remote = await Raw.open(s.port, '127.0.0.1', REMOTE);
    await remote.waitClosed(5000);
    assert.equal(local.socket.destroyed || local.socket.readableEnded, false, 'the local one is still open');
    local.socket.destroy();
  });

  test('a remote peer cannot register', async () => {
    const s = await start({ isLocalPeer: onlyLoopbackOne });
    const raw = await Raw.open(s.port, '127.0.0.1', REMOTE);
    raw.socket.write(alive2('intruder', 4370));
    await raw.waitClosed();
    assert.deepEqual(s.names(), []);
  });
});

describe('EpmdServer lifecycle', () => {
  test('binds only its address: two servers share a port on 127.0.0.2 and 127.0.0.3', async () => {
    const port = await freeSharedPort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const two = await start({ address: '127.0.0.2', port });
    const three = await start({ address: '127.0.0.3', port });
    assert.equal(two.port, port);
    const reg = await Raw.open(port, '127.0.0.2');
    reg.socket.write(alive2('app', 1002));
    await reg.bytes(6);
    assert.deepEqual(await ask(port, composePortPlease2Req('app'), '127.0.0.3'), hex('77 01'), 'each address has its own names');
    await assert.rejects(Raw.open(port, '127.0.0.1'), /ECONNREFUSED/, 'nothing listens on 127.0.0.1');
    reg.socket.destroy();
    await two.stop();
    await three.stop();
  });

  test('IPv6 loopback', async (t) => {
    if (!(await canBind('::1'))) return t.skip('::1 cannot be bound here');
    const s = await start({ address: '::1' });
    assert.deepEqual(await ask(s.port, composeNamesReq(), '::1'), composeNamesResp(s.port, []));
  });

  test('stop() closes registrations and the listener; it is idempotent', async () => {
    const s = await EpmdServer.start({ address: '127.0.0.1', port: 0 });
    const reg = await registerRaw(s.port, 'app', 4370);
    await Promise.all([s.stop(), s.stop()]);
    await reg.raw.waitClosed();
    await assert.rejects(Raw.open(s.port), /ECONNREFUSED/);
    // The port is free again.
    const again = await start({ port: s.port });
    assert.equal(again.port, s.port);
  });

  test('start() refuses bad options and a busy address', async () => {
    await assert.rejects(EpmdServer.start({ address: '', port: 0 }), InvalidOptionError);
    await assert.rejects(EpmdServer.start({ address: '127.0.0.1', port: 70000 }), InvalidOptionError);
    await assert.rejects(EpmdServer.start({ address: '127.0.0.1', port: 0, maxConnections: 0 }), InvalidOptionError);
    await assert.rejects(EpmdServer.start({ address: '127.0.0.1', port: 0, requestTimeoutMs: -1 }), InvalidOptionError);
    await assert.rejects(EpmdServer.start({ address: '127.0.0.1', port: 0, maxConnections: 4, reservedForLocal: 4 }), InvalidOptionError);
    await assert.rejects(EpmdServer.start({ address: '127.0.0.1', port: 0, requestTimeoutMs: 100, remoteRequestTimeoutMs: 200 }), InvalidOptionError);
    const s = await start();
    await assert.rejects(EpmdServer.start({ address: '127.0.0.1', port: s.port }), (err: unknown) => {
      assert.ok(err instanceof EpmdError);
      assert.equal(err.code, 'ERR_EPMD');
      assert.equal(err.port, s.port);
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
      return true;
    });
  });
});
