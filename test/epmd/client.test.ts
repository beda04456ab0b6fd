// The EPMD client against the embedded server, and against fake EPMDs that answer
// slowly, in pieces, the old way, or with garbage.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { EpmdError, InvalidOptionError } from '../../src/errors.js';
import { EpmdServer } from '../../src/epmd/server.js';
import { names, portPlease2, registerNode } from '../../src/epmd/client.js';
import { composeNamesResp, composePort2Resp } from '../../src/epmd/messages.js';
import { eventually } from '../support/ports.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

async function epmd(address = '127.0.0.1'): Promise<EpmdServer> {
  const s = await EpmdServer.start({ address, port: 0 });
  cleanup.push(() => s.stop());
  return s;
}

/** A fake EPMD on 127.0.0.1 that hands every connection (and the first request chunk) to `onRequest`. */
async function fakeEpmd(onRequest: (socket: Socket, request: Buffer) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', (d: Buffer) => onRequest(socket, d));
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

/** Writes `bytes` one at a time, a macrotask apart, then closes. */
async function dribble(socket: Socket, bytes: Buffer, end = true): Promise<void> {
  for (const b of bytes) {
    if (socket.destroyed) return;
    socket.write(Buffer.from([b]));
    await new Promise((r) => setTimeout(r, 2));
  }
  if (end) socket.end();
}

function isEpmdErrorAt(host: string, port: number, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof EpmdError, String(err));
    assert.equal(err.code, 'ERR_EPMD');
    assert.equal(err.host, host);
    assert.equal(err.port, port);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('client against the embedded EPMD', () => {
  test('registerNode, portPlease2, names; close() unregisters', async () => {
    const s = await epmd();
    const target = { host: '127.0.0.1', port: s.port, timeoutMs: 2000 };
    const reg = await registerNode({ ...target, name: 'app', distPort: 4370 });
    assert.ok(reg.creation > 3, `a 32-bit creation: ${reg.creation}`);
    assert.deepEqual(await portPlease2({ ...target, name: 'app' }), {
      port: 4370,
      nodeType: 77,
      protocol: 0,
      highestVersion: 6,
      lowestVersion: 6,
      name: 'app',
      extra: Buffer.alloc(0),
    });
    assert.equal(await portPlease2({ ...target, name: 'nobody' }), null);
    assert.deepEqual(await names(target), { epmdPort: s.port, nodes: [{ name: 'app', port: 4370 }] });
    reg.close();
    reg.close();
    await reg.closed;
    assert.ok(await eventually(() => s.names().length === 0, 2000));
    const again = await registerNode({ ...target, name: 'app', distPort: 4370 });
    assert.equal(again.creation, reg.creation + 1);
    again.close();
  });

  test('a hidden node, UTF-8 name and other versions', async () => {
    const s = await epmd();
    const reg = await registerNode({ host: '127.0.0.1', port: s.port, name: 'nó', distPort: 1, hidden: true, highestVersion: 6, lowestVersion: 5 });
    const found = await portPlease2({ host: '127.0.0.1', port: s.port, name: 'nó' });
    assert.equal(found?.nodeType, 72);
    assert.equal(found?.lowestVersion, 5);
    reg.close();
  });

  test('a taken name is an EpmdError with host and port', async () => {
    const s = await epmd();
    const first = await registerNode({ host: '127.0.0.1', port: s.port, name: 'app', distPort: 4370 });
    await assert.rejects(registerNode({ host: '127.0.0.1', port: s.port, name: 'app', distPort: 4371 }), isEpmdErrorAt('127.0.0.1', s.port, /refused.*"app".*result 1/));
    first.close();
  });

  test('`closed` settles when EPMD goes away', async () => {
    const s = await EpmdServer.start({ address: '127.0.0.1', port: 0 });
    const reg = await registerNode({ host: '127.0.0.1', port: s.port, name: 'app', distPort: 4370 });
    await s.stop();
    await reg.closed;
  });

  test('IPv6', async (t) => {
    let s: EpmdServer;
    try {
      s = await epmd('::1');
    } catch (err) {
      return t.skip(`::1 cannot be bound here: ${(err as Error).message}`);
    }
    const reg = await registerNode({ host: '::1', port: s.port, name: 'six', distPort: 4370 });
    assert.equal((await portPlease2({ host: '::1', port: s.port, name: 'six' }))?.port, 4370);
    assert.deepEqual((await names({ host: '::1', port: s.port })).nodes, [{ name: 'six', port: 4370 }]);
    reg.close();
    // IPv6 literals are bracketed in messages.
    const port = s.port;
    await s.stop();
    await assert.rejects(names({ host: '::1', port }), isEpmdErrorAt('::1', port, /\[::1\]:\d+/));
  });
});

describe('client failures', () => {
  test('nothing listening: EpmdError with host, port and the ECONNREFUSED cause', async () => {
    const s = await EpmdServer.start({ address: '127.0.0.1', port: 0 });
    const port = s.port;
    await s.stop();
    await assert.rejects(registerNode({ host: '127.0.0.1', port, name: 'app', distPort: 1 }), (err: unknown) => {
      isEpmdErrorAt('127.0.0.1', port, /ECONNREFUSED/)(err);
      assert.equal(((err as EpmdError).cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
  });

  test('an EPMD that never answers: every call times out', async () => {
    const port = await fakeEpmd(() => undefined);
    const t0 = Date.now();
    const target = { host: '127.0.0.1', port, timeoutMs: 150 };
    await assert.rejects(registerNode({ ...target, name: 'app', distPort: 1 }), isEpmdErrorAt('127.0.0.1', port, /no answer within 150 ms/));
    await assert.rejects(portPlease2({ ...target, name: 'app' }), isEpmdErrorAt('127.0.0.1', port, /within/));
    await assert.rejects(names(target), isEpmdErrorAt('127.0.0.1', port, /within/));
    assert.ok(Date.now() - t0 < 2000);
  });

  test('an EPMD that answers the old ALIVE2_RESP (16-bit creation)', async () => {
    // 79 ALIVE2_RESP | 00 ok | 0003 creation 3
    const port = await fakeEpmd((socket) => socket.write(hex('79 00 0003')));
    const reg = await registerNode({ host: '127.0.0.1', port, name: 'app', distPort: 1 });
    assert.equal(reg.creation, 3);
    reg.close();
  });

  test('answers that arrive one byte at a time', async () => {
    const reg = { port: 4370, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 5, name: 'app', extra: hex('2a2b') };
    const p1 = await fakeEpmd((socket) => void dribble(socket, hex('76 00 00010203'), false));
    const r = await registerNode({ host: '127.0.0.1', port: p1, name: 'app', distPort: 1 });
    assert.equal(r.creation, 0x00010203);
    r.close();
    const p2 = await fakeEpmd((socket) => void dribble(socket, composePort2Resp(reg), false));
    assert.deepEqual(await portPlease2({ host: '127.0.0.1', port: p2, name: 'app' }), reg);
    const list = [{ name: 'a', port: 1 }, { name: 'b', port: 2 }];
    const p3 = await fakeEpmd((socket) => void dribble(socket, composeNamesResp(4369, list)));
    assert.deepEqual(await names({ host: '127.0.0.1', port: p3 }), { epmdPort: 4369, nodes: list });
  });

  test('garbage and early closes are EpmdErrors', async () => {
    const http = await fakeEpmd((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await assert.rejects(registerNode({ host: '127.0.0.1', port: http, name: 'app', distPort: 1 }), isEpmdErrorAt('127.0.0.1', http, /tag 72/));
    await assert.rejects(portPlease2({ host: '127.0.0.1', port: http, name: 'app' }), EpmdError);
    await assert.rejects(names({ host: '127.0.0.1', port: http }), EpmdError);

    const half = await fakeEpmd((socket) => socket.end(hex('76 00 00')));
    await assert.rejects(registerNode({ host: '127.0.0.1', port: half, name: 'app', distPort: 1 }), isEpmdErrorAt('127.0.0.1', half, /closed.*before a whole answer/));
    const cut = await fakeEpmd((socket) => socket.end(composePort2Resp({ port: 1, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 6, name: 'app', extra: Buffer.alloc(0) }).subarray(0, 13)));
    await assert.rejects(portPlease2({ host: '127.0.0.1', port: cut, name: 'app' }), EpmdError);

    const extra = await fakeEpmd((socket) => socket.write(hex('76 00 00000005 00')));
    await assert.rejects(registerNode({ host: '127.0.0.1', port: extra, name: 'app', distPort: 1 }), /unexpected bytes/);

    // A NAMES answer that never ends is cut off at its limit instead of filling memory.
    const flood = await fakeEpmd((socket) => {
      const line = Buffer.from('name x at port 1\n'.repeat(4096));
      const pump = () => {
        while (!socket.destroyed && socket.write(line));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    await assert.rejects(names({ host: '127.0.0.1', port: flood, timeoutMs: 5000 }), isEpmdErrorAt('127.0.0.1', flood, /more than \d+ bytes/));
  });

  test('bad options are InvalidOptionErrors, before any connection', async () => {
    const base = { host: '127.0.0.1', port: 4369, name: 'app', distPort: 4370 };
    for (const bad of [{ name: '' }, { name: 'app@host' }, { name: 'x'.repeat(256) }, { distPort: 0 }, { distPort: 65536 }, { port: 0 }, { host: '' }, { timeoutMs: 0 }, { timeoutMs: Infinity }, { lowestVersion: 7 }]) {
      await assert.rejects(registerNode({ ...base, ...bad }), InvalidOptionError, JSON.stringify(bad));
    }
    await assert.rejects(portPlease2({ host: '127.0.0.1', name: '' }), InvalidOptionError);
    await assert.rejects(names({ host: '127.0.0.1', port: -1 }), InvalidOptionError);
  });
});
