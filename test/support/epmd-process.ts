// The real `epmd` binary for tests, in the foreground (never -daemon, which would fork
// away from the PID we hold), on a port of the test's choosing, stopped by PID.
//
// Observed with epmd of OTP 25: besides the -address given, epmd always listens on
// 127.0.0.1 and ::1 as well, so one real epmd per loopback address is impossible on a
// shared port; and erl registers with the EPMD on 127.0.0.1 (::1 for inet6) whatever
// the host in its name. Nodes that find each other through one real epmd therefore
// use names on 127.0.0.1 (or tell their peers the port some other way).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

const live = new Set<EpmdProcess>();
// Leftovers are killed by PID when the test process exits, whatever the reason.
process.once('exit', () => {
  for (const e of live) e.signal('SIGKILL');
});

export interface EpmdProcessOptions {
  port: number;
  /** `-address`; default '127.0.0.1' (epmd adds 127.0.0.1 and ::1 anyway). */
  address?: string;
  /** Start timeout in ms; default 5000. */
  timeoutMs?: number;
}

/** Whether the epmd binary can run here, and why not. */
export function epmdAvailability(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync('epmd', ['-help'], { encoding: 'utf8', timeout: 10_000 });
  return probe.error === undefined ? { ok: true } : { ok: false, reason: `epmd: ${probe.error.message}` };
}

/**
 * Resolves true when an EPMD answers NAMES_REQ on host:port with its own port number
 * (the first 4 bytes of the reply). NAMES_REQ: length 1 (2 bytes), then 110.
 */
export function epmdAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const s = connect({ host, port }, () => s.write(Buffer.from([0, 1, 110])));
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('error', () => done(false));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) done(got.readUInt32BE(0) === port);
    });
    s.on('end', () => done(false));
  });
}

export class EpmdProcess {
  private out = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly address: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (e) => {
        this.out += `${e.message}\n`;
        resolve();
      });
    });
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  /** Starts `epmd -port P -address A` and resolves once it answers NAMES_REQ. */
  static async start(opts: EpmdProcessOptions): Promise<EpmdProcess> {
    const address = opts.address ?? '127.0.0.1';
    const child = spawn('epmd', ['-port', String(opts.port), '-address', address], { stdio: ['ignore', 'pipe', 'pipe'] });
    const epmd = new EpmdProcess(child, opts.port, address);
    live.add(epmd);
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    while (epmd.running() && Date.now() < deadline) {
      if (await epmdAnswers(address, opts.port)) return epmd;
      await new Promise((r) => setTimeout(r, 50));
    }
    await epmd.stop();
    throw new Error(`epmd -port ${opts.port} -address ${address} did not start: ${epmd.out.slice(-1000)}`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal to epmd, by its PID (SIGSTOP makes an EPMD that accepts but never answers). */
  signal(sig: NodeJS.Signals): void {
    if (this.running()) process.kill(this.pid, sig);
  }

  /** SIGTERM by PID, SIGKILL after 3 s; waits (bounded) for the exit. Idempotent. */
  async stop(): Promise<void> {
    live.delete(this);
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    if ((await waitFor(this.exited, 3000)) === 'timeout') {
      this.signal('SIGKILL');
      await waitFor(this.exited, 3000);
    }
  }

  /** What epmd printed, for failure messages. */
  output(): string {
    return this.out;
  }
}

function waitFor(p: Promise<void>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p.then(() => 'done' as const), timeout]).finally(() => clearTimeout(timer));
}
