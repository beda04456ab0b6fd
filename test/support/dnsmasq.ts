// A real DNS server for cluster tests: dnsmasq on a loopback port, serving a hosts
// directory the test rewrites as it runs (dnsmasq re-reads it on change), stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { freeSharedPort } from './ports.js';

export function dnsmasqAvailability(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync('dnsmasq', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0 ? { ok: true } : { ok: false, reason: 'dnsmasq not installed (apt-get install dnsmasq-base)' };
}

/** Skips the test when dnsmasq is missing, with the reason; fails instead under CI. */
export function requireDnsmasq(t: { skip: (reason: string) => void }): boolean {
  const a = dnsmasqAvailability();
  if (a.ok) return true;
  if (process.env.CI) throw new Error(`dnsmasq is required in CI: ${a.reason}`);
  t.skip(a.reason);
  return false;
}

export class Dnsmasq {
  private constructor(
    private child: ChildProcess | undefined,
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: string[],
  ) {}

  /** `127.0.0.1:port`, for `defaultResolver`'s `servers`. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `extraArgs`: more dnsmasq options, e.g. `--srv-host=...` and `--host-record=...` for SRV records. */
  static async start(extraArgs: string[] = []): Promise<Dnsmasq> {
    const dir = mkdtempSync(join(tmpdir(), 'nessie-dns-'));
    const port = await freeSharedPort(['127.0.0.1']);
    const d = new Dnsmasq(undefined, port, dir, extraArgs);
    await d.spawn();
    return d;
  }

  /** Sets the addresses `name` resolves to (A and AAAA alike); an empty list removes it. */
  async set(name: string, addresses: string[]): Promise<void> {
    writeFileSync(join(this.dir, `${name}.hosts`), addresses.map((a) => `${a} ${name}\n`).join(''));
    // dnsmasq notices the change through inotify; wait until it answers with the new set.
    const r = new Resolver({ timeout: 500, tries: 1 });
    r.setServers([this.server]);
    const want = [...addresses].sort().join(',');
    for (let i = 0; i < 100; i++) {
      const got = await Promise.all([r.resolve4(name).catch(() => []), r.resolve6(name).catch(() => [])]);
      if (got.flat().sort().join(',') === want) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`dnsmasq did not pick up ${name} -> ${want}`);
  }

  /** Stops the server (by PID); `restart` brings it back on the same port with the same records. */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.spawn();
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async spawn(): Promise<void> {
    const child = spawn('dnsmasq', [
      '--no-daemon', `--port=${this.port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
      '--no-resolv', '--no-hosts', `--hostsdir=${this.dir}`, '--local=/test/', '--local-ttl=0', '--user=root', '--pid-file=',
      ...this.extraArgs,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    this.child = child;
    // Ready when it answers a query (NXDOMAIN counts).
    const r = new Resolver({ timeout: 300, tries: 1 });
    r.setServers([this.server]);
    for (let i = 0; i < 60; i++) {
      if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${err}`);
      const answered = await r.resolve4('ready.test').then(() => true, (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND' || e.code === 'ENODATA');
      if (answered) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`dnsmasq did not start: ${err}`);
  }
}
