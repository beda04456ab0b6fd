// Ports and loopback addresses for tests. Each test file runs in its own process, so
// what one file takes never collides with another running at the same time, and a
// leftover from a crashed earlier run is skipped because its port is still taken.
import { createServer } from 'node:net';

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A port the kernel reports free on `host` right now (it picks it: listen on port 0). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A port free on every one of `hosts` at once, for EPMD-less nodes that all listen on
 * the same port, each on its own address. Random tries in 20000-49999, at most 100.
 */
export async function freeSharedPort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const ok = await Promise.all(hosts.map((h) => canListen(h, port)));
    if (ok.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

/**
 * `count` loopback addresses for this test process alone: 127.X.Y.2, 127.X.Y.3, ...
 * with X.Y taken from its PID, so two test files running at once get different ones
 * (only PIDs a multiple of 65024 apart share a block). Fixed addresses
 * such as 127.0.0.2 read better in failures when files run one at a time.
 */
export function loopbackAddresses(count: number): string[] {
  if (count < 1 || count > 250) throw new RangeError(`count must be 1..250, got ${count}`);
  const x = 1 + ((process.pid >> 8) % 254);
  const y = process.pid & 0xff;
  return Array.from({ length: count }, (_, i) => `127.${x}.${y}.${i + 2}`);
}

/** Polls `check` every 50 ms until it is true or `timeoutMs` passes; resolves to the last result. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
