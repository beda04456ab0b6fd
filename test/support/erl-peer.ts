// Real erl nodes for interop tests. OTP 25 is the host's erl (Debian 12); OTP 27 runs
// from a Debian 13 root filesystem under chroot (scripts/otp-peers), sharing the host's
// network. Each peer runs -noshell with a read-eval-print loop on stdin, and is stopped
// by its PID (exec all the way down, so the PID we hold is beam itself).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';

export type OtpRelease = 25 | 27;
export type Availability = { ok: true } | { ok: false; reason: string };

const OTP_PEERS = fileURLToPath(new URL('../../scripts/otp-peers', import.meta.url));
const TRIXIE_ROOT = process.env.NESSIE_TRIXIE_ROOT ?? '/var/cache/nessie-cluster/trixie';
const ALL: OtpRelease[] = [25, 27];

/** The command that runs erl of this release, as [program, ...args]. */
export function erlCommand(otp: OtpRelease): string[] {
  return otp === 25 ? ['erl'] : [OTP_PEERS, 'erl27'];
}

const availability = new Map<OtpRelease, Availability>();

/**
 * Whether erl of this release runs here, and why not. 25: the host's erl is OTP 25.
 * 27: the trixie root exists and we are root (chroot). Both are then probed once per
 * process by running erl, so "available" means a node really starts.
 */
export function otpAvailability(otp: OtpRelease): Availability {
  let result = availability.get(otp);
  if (result === undefined) {
    result = probe(otp);
    availability.set(otp, result);
  }
  return result;
}

function probe(otp: OtpRelease): Availability {
  if (otp === 27) {
    if (!existsSync(`${TRIXIE_ROOT}/.nessie-complete`)) return { ok: false, reason: `no trixie root at ${TRIXIE_ROOT} (run scripts/otp-peers setup as root)` };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'OTP 27 runs under chroot, which needs root' };
  }
  const [cmd, ...pre] = erlCommand(otp);
  const eval_ = 'io:format("~s", [erlang:system_info(otp_release)]), halt().';
  const r = spawnSync(cmd, [...pre, '-noshell', '-eval', eval_], { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined) return { ok: false, reason: `${cmd}: ${r.error.message}${otp === 25 ? ' (apt-get install erlang-base)' : ''}` };
  const got = r.stdout.trim();
  if (got !== String(otp)) return { ok: false, reason: `${cmd} is OTP ${JSON.stringify(got)}, not ${otp}: ${r.stderr.trim().slice(0, 300)}` };
  return { ok: true };
}

/** The releases available here (interop tests run against each). */
export function otpReleases(): OtpRelease[] {
  return ALL.filter((r) => otpAvailability(r).ok);
}

/** Skips the test (with the reason) when the release is missing; under CI, fails instead. */
export function requireOtp(t: { skip: (reason: string) => void }, otp: OtpRelease): boolean {
  const a = otpAvailability(otp);
  if (a.ok) return true;
  if (process.env.CI) throw new Error(`OTP ${otp} is required in CI but unavailable: ${a.reason}`);
  t.skip(`OTP ${otp} unavailable: ${a.reason}`);
  return false;
}

export interface ErlPeerOptions {
  /** Full name, e.g. 'erl1@127.0.0.2' (always -name: long names). */
  name: string;
  cookie: string;
  /** Default 25. */
  otp?: OtpRelease;
  /** Use a running EPMD (real or embedded) on this port, through ERL_EPMD_PORT. */
  epmdPort?: number;
  /** EPMD-less: listen on this port and assume every peer listens on it too. */
  epmdless?: { port: number };
  /** -kernel inet_dist_use_interface; default the host part of `name` when it is an IP. */
  address?: string;
  /** -proto_dist inet6_tcp; default true when the address is IPv6. */
  ipv6?: boolean;
  /** -kernel net_ticktime, in seconds. */
  ticktime?: number;
  hidden?: boolean;
  /** Extra erl arguments, placed before the -eval that runs the loop. */
  args?: string[];
  /** How long start() waits for the node; default 20000 ms. */
  startTimeoutMs?: number;
}

// Started peers, killed by PID when the test process exits (a failed assertion skips
// the test's own stop()). A peer whose test process died some other way still goes:
// its stdin closes and the loop below halts the node.
const live = new Set<ErlPeer>();
process.once('exit', () => {
  for (const p of live) p.signal('SIGKILL');
});

// The loop, passed to erl as -eval. Requests are lines "Id Hex" (the expression's UTF-8
// bytes as hex, so any source fits on one line). Each runs in a fresh process: its own
// bindings and mailbox (a message left by one step cannot be taken by the next one's
// `receive`), and a slow step does not hold up the others. The reply is one io request
// (so it cannot interleave with logger output) on a line of its own:
//   <<<nessie-eval Id OK|ERR Hex>>>      Hex: the result printed with ~0tp, UTF-8, hex
// A step whose process dies without an answer (a linked process crashed) reports ERR.
const REPL = String.raw`
Eval = fun(Hex) ->
  try
    Src = unicode:characters_to_list(binary:decode_hex(list_to_binary(Hex))),
    Trimmed = lists:reverse(lists:dropwhile(fun(C) -> lists:member(C, " \t\r\n") end, lists:reverse(Src))),
    Dotted = case lists:last([$. | Trimmed]) of $. -> Trimmed; _ -> Trimmed ++ "." end,
    Toks = case erl_scan:string(Dotted) of {ok, T, _} -> T; {error, E1, _} -> error({scan, E1}) end,
    Exprs = case erl_parse:parse_exprs(Toks) of {ok, X} -> X; {error, E2} -> error({parse, E2}) end,
    {value, V, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
    {"OK", io_lib:format("~0tp", [V])}
  catch C:R -> {"ERR", io_lib:format("~0tp:~0tp", [C, R])}
  end
end,
Run = fun(Id, Hex) ->
  Waiter = self(),
  {Pid, Ref} = spawn_monitor(fun() -> Waiter ! {self(), Eval(Hex)} end),
  {Status, Text} = receive
                     {Pid, Out} -> demonitor(Ref, [flush]), Out;
                     {'DOWN', Ref, process, Pid, Why} -> {"ERR", io_lib:format("exit:~0tp", [Why])}
                   end,
  io:put_chars(["\n<<<nessie-eval ", Id, " ", Status, " ", binary:encode_hex(unicode:characters_to_binary(Text)), ">>>\n"])
end,
case node() of
  nonode@nohost -> io:format(standard_error, "distribution did not start~n", []), halt(3);
  Node -> io:put_chars(["\n<<<nessie-ready ", atom_to_list(Node), " ", erlang:system_info(otp_release), ">>>\n"])
end,
Loop = fun L() ->
  case io:get_line("") of
    Line when is_list(Line) ->
      case string:split(string:trim(Line), " ") of
        [Id, Hex] -> spawn(fun() -> Run(Id, Hex) end);
        _ -> ignored
      end,
      L();
    _EofOrError -> halt(0)
  end
end,
Loop().`;

const MARKER = /^<<<nessie-(eval (\d+) (OK|ERR) ([0-9A-Fa-f]*)|ready (\S+) (\d+))>>>$/;
const OUTPUT_LIMIT = 1 << 20;

export class ErlPeer {
  readonly pid: number;
  private out = '';
  private partial = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  private onReady?: (otp: string) => void;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    readonly otp: OtpRelease,
  ) {
    this.pid = child.pid ?? -1;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, sig) => {
        this.out += `\n[erl exited: ${sig ?? code}]\n`;
        resolve();
      });
      child.once('error', (e) => {
        this.out += `\n[erl did not run: ${e.message}]\n`;
        resolve();
      });
    });
    void this.exited.then(() => {
      live.delete(this);
      for (const p of this.pending.values()) p.reject(new Error(`erl ${name} exited: ${this.output().slice(-2000)}`));
      this.pending.clear();
    });
    // A write after erl died fails with EPIPE; the exit handling above reports it.
    child.stdin?.on('error', () => {});
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => this.onStdout(d));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => this.capture(d));
  }

  /** Starts erl and resolves once the node is up and its distribution started. */
  static async start(o: ErlPeerOptions): Promise<ErlPeer> {
    const otp = o.otp ?? 25;
    const host = o.name.slice(o.name.indexOf('@') + 1);
    if (!o.name.includes('@') || host === '') throw new Error(`erl peer name must be name@host, got '${o.name}'`);
    if (o.epmdPort !== undefined && o.epmdless !== undefined) throw new Error('epmdPort and epmdless exclude each other');
    const avail = otpAvailability(otp);
    if (!avail.ok) throw new Error(`OTP ${otp} unavailable: ${avail.reason}`);

    // Busy-waiting schedulers would burn the CPU that the code under test needs.
    const args = ['-name', o.name, '-setcookie', o.cookie, '-noshell', '-start_epmd', 'false', '+sbwt', 'none', '+sbwtdcpu', 'none', '+sbwtdio', 'none'];
    if (o.epmdless !== undefined) args.push('-erl_epmd_port', String(o.epmdless.port));
    const address = o.address ?? (isIPv4(host) || isIPv6(host) ? host : undefined);
    if (o.ipv6 ?? (address !== undefined && isIPv6(address))) args.push('-proto_dist', 'inet6_tcp');
    if (address !== undefined) args.push('-kernel', 'inet_dist_use_interface', ipTuple(address));
    if (o.ticktime !== undefined) args.push('-kernel', 'net_ticktime', String(o.ticktime));
    if (o.hidden) args.push('-hidden');
    args.push(...(o.args ?? []), '-eval', REPL);

    // ERL_*FLAGS from the developer's shell would change every peer; crash dumps go to
    // /tmp (the root's /tmp for OTP 27) instead of the working directory.
    const { ERL_FLAGS: _f, ERL_AFLAGS: _a, ERL_ZFLAGS: _z, ...env } = process.env;
    env.ERL_CRASH_DUMP = `/tmp/erl_crash.${o.name.replace(/[^\w.@-]/g, '_')}.dump`;
    if (o.epmdPort !== undefined) env.ERL_EPMD_PORT = String(o.epmdPort);
    const [cmd, ...pre] = erlCommand(otp);
    const child = spawn(cmd, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const peer = new ErlPeer(child, o.name, otp);
    live.add(peer);

    const timeoutMs = o.startTimeoutMs ?? 20_000;
    const ready = new Promise<string>((resolve) => (peer.onReady = resolve));
    const outcome = await Promise.race([ready, peer.exited.then(() => 'exited' as const), sleep(timeoutMs).then(() => 'timeout' as const)]);
    if (outcome === 'exited' || outcome === 'timeout' || outcome !== String(otp)) {
      await peer.stop();
      const why = outcome === 'timeout' ? `no answer in ${timeoutMs} ms` : outcome === 'exited' ? 'erl exited' : `it is OTP ${outcome}`;
      throw new Error(`erl ${o.name} (OTP ${otp}) did not start: ${why}. Output:\n${peer.output().slice(-3000)}`);
    }
    return peer;
  }

  /**
   * Evaluates Erlang expression(s) such as "lists:sum([1,2])." (the final dot may be
   * left out) in a fresh process on the node; resolves to the value printed with ~0tp
   * ('3'). An exception rejects with "class:reason" printed the same way.
   */
  eval(expr: string, timeoutMs = 20_000): Promise<string> {
    if (!this.running()) return Promise.reject(new Error(`erl ${this.name} is not running: ${this.output().slice(-2000)}`));
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`erl ${this.name}: no answer in ${timeoutMs} ms to ${expr}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.stdin?.write(`${id} ${Buffer.from(expr, 'utf8').toString('hex')}\n`);
    });
  }

  /** Sends a signal (SIGSTOP, SIGCONT, SIGKILL...) to the node, by its PID; no-op once it exited. */
  signal(sig: NodeJS.Signals): void {
    if (this.running()) process.kill(this.pid, sig);
  }

  running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Stops the node and waits for its exit. Closing stdin makes the loop halt(0) at once
   * (SIGTERM would run init:stop, about 1 s); a node that has not exited 1 s later gets
   * SIGKILL by PID. Idempotent.
   */
  async stop(): Promise<void> {
    live.delete(this);
    this.signal('SIGCONT'); // a stopped node cannot read its stdin
    this.child.stdin?.end();
    if ((await Promise.race([this.exited.then(() => 'exited'), sleep(1000)])) !== 'exited') {
      this.signal('SIGKILL');
      await Promise.race([this.exited, sleep(5000)]);
    }
  }

  /** What erl printed so far (stdout and stderr, less the loop's own lines), for failure messages. */
  output(): string {
    return this.partial.startsWith('<<<nessie-') ? this.out : this.out + this.partial;
  }

  private capture(text: string): void {
    this.out += text;
    if (this.out.length > OUTPUT_LIMIT) this.out = this.out.slice(-OUTPUT_LIMIT / 2);
  }

  // Complete lines only: a large result arrives over many chunks, and its marker is
  // recognised once its line ends.
  private onStdout(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = MARKER.exec(line);
      if (m === null) {
        // Empty lines are mostly the newline each reply starts with (so it begins a line).
        if (line !== '') this.capture(`${line}\n`);
      }
      else if (m[5] !== undefined) this.onReady?.(m[6]);
      else this.onEvalReply(Number(m[2]), m[3], Buffer.from(m[4], 'hex').toString('utf8'));
    }
  }

  private onEvalReply(id: number, status: string, text: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return; // its eval() timed out already
    this.pending.delete(id);
    if (status === 'OK') p.resolve(text);
    else p.reject(new Error(`erl ${this.name} raised ${text}`));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** An IP address as the Erlang tuple inet_dist_use_interface wants: {127,0,0,2} or 8 groups. */
function ipTuple(ip: string): string {
  if (isIPv4(ip)) return `{${ip.split('.').join(',')}}`;
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  let text = ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip); // ::ffff:1.2.3.4
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = ip.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `{${groups.map((g) => parseInt(g, 16)).join(',')}}`;
}
