// Real erl nodes for interop tests: started with -noshell and a read-eval-print loop
// on stdin, stopped by PID. OTP 25 is Debian 12's erl; OTP 27 runs from a Debian 13
// root filesystem under chroot (scripts/otp-peers), sharing the host's network.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';

export type OtpRelease = 25 | 27;

const OTP_PEERS = fileURLToPath(new URL('../../scripts/otp-peers', import.meta.url));
const availability = new Map<OtpRelease, { ok: true } | { ok: false; reason: string }>();

/** The command that runs erl of this release, as [program, ...args]. */
export function erlCommand(otp: OtpRelease): string[] {
  return otp === 25 ? ['erl'] : [OTP_PEERS, 'erl27'];
}

/** Whether erl of this release can run here, and why not. Checked once per process. */
export function otpAvailability(otp: OtpRelease): { ok: true } | { ok: false; reason: string } {
  const known = availability.get(otp);
  if (known !== undefined) return known;
  let result: { ok: true } | { ok: false; reason: string };
  if (otp === 27 && !existsSync(OTP_PEERS)) {
    result = { ok: false, reason: 'scripts/otp-peers is missing' };
  } else {
    const [cmd, ...args] = erlCommand(otp);
    const probe = spawnSync(cmd, [...args, '-noshell', '-eval', 'io:format("~s", [erlang:system_info(otp_release)]), halt().'], { encoding: 'utf8', timeout: 30_000 });
    if (probe.error !== undefined) result = { ok: false, reason: `${cmd}: ${probe.error.message}` };
    else if (probe.stdout.trim() !== String(otp)) result = { ok: false, reason: `expected OTP ${otp}, got ${JSON.stringify(probe.stdout.trim())} ${probe.stderr.trim().slice(0, 200)}` };
    else result = { ok: true };
  }
  availability.set(otp, result);
  return result;
}

/** Releases to run interop tests against. In CI every one must be available. */
export function otpReleases(): OtpRelease[] {
  return ([25, 27] as OtpRelease[]).filter((r) => otpAvailability(r).ok);
}

/** Skips the test when the release is missing, with the reason; fails instead under CI. */
export function requireOtp(t: { skip: (reason: string) => void }, otp: OtpRelease): boolean {
  const a = otpAvailability(otp);
  if (a.ok) return true;
  if (process.env.CI) throw new Error(`OTP ${otp} is required in CI but unavailable: ${a.reason}`);
  t.skip(`OTP ${otp} unavailable: ${a.reason}`);
  return false;
}

export interface ErlPeerOptions {
  /** Full name, e.g. 'erl1@127.0.0.2' (long names). */
  name: string;
  cookie: string;
  otp?: OtpRelease;
  /** Use a running EPMD on this port (ERL_EPMD_PORT); erl never starts one itself. */
  epmdPort?: number;
  /** EPMD-less: listen on this port and assume every peer listens on it too. */
  epmdless?: { port: number };
  ticktime?: number;
  hidden?: boolean;
  args?: string[];
}

const live = new Set<ErlPeer>();
process.once('exit', () => {
  for (const p of live) p.signal('SIGKILL');
});

// The REPL: reads one expression per line (hex-encoded, so any text fits on a line),
// evaluates it with fresh bindings (a variable bound by one test step must not make
// the next one's patterns fail), and prints the result between markers, so logger
// output can't be mistaken for a result.
const REPL = `
Loop = fun L() ->
  case io:get_line(standard_io, "") of
    eof -> halt(0);
    Line ->
      Src = binary_to_list(binary:decode_hex(list_to_binary(string:trim(Line)))),
      Out = try
              {ok, Toks, _} = erl_scan:string(Src),
              {ok, Exprs} = erl_parse:parse_exprs(Toks),
              {value, V, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
              ["OK ", io_lib:format("~0tp", [V])]
            catch C:R -> ["ERR ", io_lib:format("~0tp:~0tp", [C, R])]
            end,
      io:put_chars(["\\n<<<", binary:encode_hex(unicode:characters_to_binary(Out)), ">>>\\n"]),
      L()
  end
end,
io:put_chars("\\n<<<READY>>>\\n"),
Loop().`;

export class ErlPeer {
  private out = '';
  private readonly waiters: Array<(line: string) => void> = [];
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    readonly otp: OtpRelease,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const onData = (d: Buffer) => {
      this.out += d.toString('utf8');
      for (const m of this.out.matchAll(/<<<([0-9A-Fa-f]*|READY)>>>\n/g)) {
        const w = this.waiters.shift();
        w?.(m[1]);
      }
      this.out = this.out.replace(/<<<([0-9A-Fa-f]*|READY)>>>\n/g, '');
      if (this.out.length > 100_000) this.out = this.out.slice(-50_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Starts erl and resolves once its distribution is up. */
  static async start(o: ErlPeerOptions): Promise<ErlPeer> {
    const otp = o.otp ?? 25;
    const host = o.name.slice(o.name.indexOf('@') + 1);
    const args = ['-name', o.name, '-setcookie', o.cookie, '-noshell', '-start_epmd', 'false'];
    if (o.epmdless !== undefined) args.push('-erl_epmd_port', String(o.epmdless.port));
    if (isIPv4(host)) args.push('-kernel', 'inet_dist_use_interface', `{${host.replace(/\./g, ',')}}`);
    if (isIPv6(host)) args.push('-proto_dist', 'inet6_tcp', '-kernel', 'inet_dist_use_interface', ipv6Tuple(host));
    if (o.ticktime !== undefined) args.push('-kernel', 'net_ticktime', String(o.ticktime));
    if (o.hidden) args.push('-hidden');
    args.push(...(o.args ?? []), '-eval', REPL);
    const [cmd, ...pre] = erlCommand(otp);
    const env = { ...process.env, ...(o.epmdPort !== undefined ? { ERL_EPMD_PORT: String(o.epmdPort) } : {}) };
    const child = spawn(cmd, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const peer = new ErlPeer(child, o.name, otp);
    live.add(peer);
    const ready = new Promise<void>((resolve) => peer.waiters.push(() => resolve()));
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
    const died = peer.exited.then(() => 'died' as const);
    const first = await Promise.race([ready.then(() => 'ready' as const), timeout, died]);
    if (first !== 'ready') {
      await peer.stop();
      throw new Error(`erl ${o.name} (OTP ${otp}) did not start (${first}): ${peer.output().slice(-2000)}`);
    }
    return peer;
  }

  /** Evaluates Erlang expressions ("lists:sum([1,2]).") and resolves to the result printed with ~0tp. */
  async eval(expr: string, timeoutMs = 20_000): Promise<string> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`erl ${this.name} is not running`);
    const line = new Promise<string>((resolve) => this.waiters.push(resolve));
    this.child.stdin?.write(Buffer.from(expr, 'utf8').toString('hex') + '\n');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`erl ${this.name}: ${expr} did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const text = Buffer.from(await Promise.race([line, timeout]), 'hex').toString('utf8');
      if (text.startsWith('OK ')) return text.slice(3);
      throw new Error(`erl ${this.name}: ${expr} raised ${text.slice(4)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal to the erl process, by its PID. */
  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, sig);
  }

  /** Stops the node by PID (SIGKILL) and waits for it to exit. Idempotent. */
  async stop(): Promise<void> {
    live.delete(this);
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  /** What erl printed (stdout and stderr), for failure messages. */
  output(): string {
    return this.out;
  }
}

function ipv6Tuple(ip: string): string {
  const [head, tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `{${groups.map((g) => parseInt(g, 16)).join(',')}}`;
}
