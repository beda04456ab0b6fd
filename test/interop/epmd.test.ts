// EPMD against real Erlang: (a) our client against the real epmd binary, byte for byte
// beside our server; (b) real erl registering with our EpmdServer, checked from both
// sides; (c) per-address EpmdServers on 127.0.0.2 and 127.0.0.3 sharing one port, the
// only EPMDs two erl nodes use to find each other before they ping.
//
// Observed with OTP 25.2 and 27 (not in the docs): erl always registers with the EPMD at
// 127.0.0.1 (::1 for inet6), whatever host its name has; and its ALIVE2_REQ says
// LowestVersion 5, although the protocol guide says 6 for OTP 25 and later.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { EpmdError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { EpmdServer } from '../../src/epmd/server.js';
import { names, portPlease2, registerNode, type EpmdRegistration } from '../../src/epmd/client.js';
import { composeNamesReq, composePortPlease2Req } from '../../src/epmd/messages.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'epmd-interop';
/** Unique per run, so a leftover from an earlier run can never answer for us. */
const RUN = `${process.pid}_${Date.now().toString(36)}`;

/**
 * The real epmd in the foreground (never -daemon, so it is ours to stop by PID).
 * Written here because test/support/epmd-process.ts did not exist yet.
 */
class RealEpmd {
  private out = '';
  private readonly exited: Promise<void>;
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  static async start(port: number): Promise<RealEpmd> {
    const child = spawn('epmd', ['-port', String(port), '-address', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const epmd = new RealEpmd(child, port);
    let dead = false;
    void epmd.exited.then(() => (dead = true));
    const up = await eventually(async () => dead || (await names({ host: '127.0.0.1', port, timeoutMs: 500 }).then(() => true, () => false)), 5000);
    if (!up || dead) {
      await epmd.stop();
      throw new Error(`epmd -port ${port} did not start: ${epmd.out.slice(-1000)}`);
    }
    return epmd;
  }

  /** SIGTERM by PID, SIGKILL after 3 s; waits (bounded) for the exit. */
  async stop(): Promise<void> {
    const alive = () => this.child.exitCode === null && this.child.signalCode === null;
    if (alive() && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGTERM');
    const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    if ((await Promise.race([this.exited, timeout(3000)])) === 'timeout' && alive() && this.child.pid !== undefined) {
      process.kill(this.child.pid, 'SIGKILL');
      await Promise.race([this.exited, timeout(3000)]);
    }
  }
}

/** Skips when the epmd binary is missing, with the reason; fails instead under CI. */
function requireEpmd(t: { skip: (reason: string) => void }): boolean {
  const probe = spawnSync('epmd', ['-help'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error === undefined) return true;
  const reason = `epmd unavailable: ${probe.error.message}`;
  if (process.env.CI) throw new Error(`${reason} (required in CI)`);
  t.skip(reason);
  return false;
}

/** Everything an EPMD sends for `request`, up to its close. */
function rawAsk(port: number, request: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host, port }, () => s.write(request));
    const timer = setTimeout(() => s.destroy(new Error('no close within 3000 ms')), 3000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('error', (err) => (clearTimeout(timer), reject(err)));
    s.once('close', () => (clearTimeout(timer), resolve(Buffer.concat(chunks))));
  });
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

/** The {Name, Port} pairs in an Erlang `{ok, [{"name", Port}, ...]}` printed with ~0tp, sorted. */
function erlNames(printed: string): Array<[string, number]> {
  assert.match(printed, /^\{ok,\[.*\]\}$/);
  return [...printed.matchAll(/\{"([^"]*)",(\d+)\}/g)].map((m): [string, number] => [m[1], Number(m[2])]).sort();
}

describe('(a) our client against the real epmd', () => {
  test('register, port_please, names; creations, refusals and bytes as our server', { timeout: 60_000 }, async (t) => {
    if (!requireEpmd(t)) return;
    const port = await freeSharedPort(['127.0.0.1']);
    const epmd = await RealEpmd.start(port);
    const ours = await EpmdServer.start({ address: '127.0.0.1', port: 0 });
    const regs: EpmdRegistration[] = [];
    try {
      const target = { host: '127.0.0.1', port, timeoutMs: 3000 };
      const name = `app_${RUN}`;
      const before = Math.floor(Date.now() / 1000);
      const reg = await registerNode({ ...target, name, distPort: 4370 });
      regs.push(reg);
      // epmd seeds a new name's creation with the clock (seconds) and adds one.
      assert.ok(reg.creation >= before + 1 && reg.creation <= Math.floor(Date.now() / 1000) + 1, `creation ${reg.creation}`);

      assert.deepEqual(await portPlease2({ ...target, name }), { port: 4370, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 6, name, extra: Buffer.alloc(0) });
      assert.equal(await portPlease2({ ...target, name: `nobody_${RUN}` }), null);
      await assert.rejects(registerNode({ ...target, name, distPort: 4371 }), (err: unknown) => err instanceof EpmdError && err.port === port && /refused/.test(err.message));

      const hidden = await registerNode({ ...target, name: `hidden_${RUN}`, distPort: 4372, hidden: true });
      regs.push(hidden);
      assert.equal((await portPlease2({ ...target, name: `hidden_${RUN}` }))?.nodeType, 72);
      // A version 5 registration: epmd answers ALIVE2_RESP, creation 1..3.
      const old = await registerNode({ ...target, name: `old_${RUN}`, distPort: 4373, highestVersion: 5, lowestVersion: 5 });
      regs.push(old);
      assert.ok(old.creation >= 1 && old.creation <= 3, `version 5 creation ${old.creation}`);

      assert.deepEqual(await names(target), {
        epmdPort: port,
        nodes: [
          { name: `old_${RUN}`, port: 4373 },
          { name: `hidden_${RUN}`, port: 4372 },
          { name, port: 4370 },
        ],
      });

      // The same registrations in the same order on our server: the same bytes, but for the port.
      const oursTarget = { host: '127.0.0.1', port: ours.port };
      regs.push(await registerNode({ ...oursTarget, name, distPort: 4370 }));
      regs.push(await registerNode({ ...oursTarget, name: `hidden_${RUN}`, distPort: 4372, hidden: true }));
      regs.push(await registerNode({ ...oursTarget, name: `old_${RUN}`, distPort: 4373, highestVersion: 5, lowestVersion: 5 }));
      const real = await rawAsk(port, composeNamesReq());
      const mine = await rawAsk(ours.port, composeNamesReq());
      assert.equal(real.readUInt32BE(0), port);
      assert.deepEqual(mine.subarray(4), real.subarray(4), 'NAMES_RESP lines');
      for (const n of [name, `hidden_${RUN}`, `old_${RUN}`, `nobody_${RUN}`]) {
        assert.deepEqual(await rawAsk(ours.port, composePortPlease2Req(n)), await rawAsk(port, composePortPlease2Req(n)), `PORT2_RESP for ${n}`);
      }

      // Closing the socket unregisters; the name comes back with the next creation.
      reg.close();
      await reg.closed;
      assert.ok(await eventually(async () => (await portPlease2({ ...target, name })) === null, 3000), 'unregistered on close');
      const again = await registerNode({ ...target, name, distPort: 4370 });
      regs.push(again);
      assert.equal(again.creation, reg.creation + 1);
    } finally {
      for (const r of regs) r.close();
      await ours.stop();
      await epmd.stop();
    }
  });
});

for (const otp of [25, 27] as OtpRelease[]) {
  test(`(b) OTP ${otp}: erl registers with our EpmdServer; both sides agree`, { timeout: 90_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const logger = recordingLogger();
    const server = await EpmdServer.start({ address: '127.0.0.1', port: 0, logger });
    const xName = `x_${RUN}`;
    let peer: ErlPeer | undefined;
    let ts: EpmdRegistration | undefined;
    try {
      peer = await ErlPeer.start({ name: `${xName}@127.0.0.1`, cookie: COOKIE, otp, epmdPort: server.port });
      const target = { host: '127.0.0.1', port: server.port };
      const x = await portPlease2({ ...target, name: xName });
      assert.ok(x !== null, 'erl registered');
      assert.equal(x.nodeType, 77);
      assert.equal(x.highestVersion, 6);
      assert.ok(x.lowestVersion === 5 || x.lowestVersion === 6, `LowestVersion ${x.lowestVersion}`);

      // erl took the 32-bit creation we handed out (ALIVE2_X_RESP).
      const line = logger.lines.find((l) => l.includes(`registered ${xName} `));
      const creation = Number(/creation (\d+)/.exec(line ?? '')?.[1]);
      assert.equal(await peer.eval('erlang:system_info(creation).'), String(creation));

      // A second name, registered by our client, seen by erl too.
      ts = await registerNode({ ...target, name: `ts_${RUN}`, distPort: 4370 });
      const expected: Array<[string, number]> = [[xName, x.port], [`ts_${RUN}`, 4370]].sort() as Array<[string, number]>;
      assert.deepEqual(erlNames(await peer.eval('net_adm:names({127,0,0,1}).')), expected);
      assert.deepEqual(erlNames(await peer.eval('erl_epmd:names({127,0,0,1}).')), expected);
      assert.deepEqual((await names(target)).nodes.map((n): [string, number] => [n.name, n.port]).sort(), expected);
      assert.equal(await peer.eval(`erl_epmd:port_please("ts_${RUN}", {127,0,0,1}).`), '{port,4370,6}');
      assert.equal(await peer.eval(`erl_epmd:port_please("${xName}", {127,0,0,1}).`), `{port,${x.port},6}`);
      assert.equal(await peer.eval(`erl_epmd:port_please("nobody_${RUN}", {127,0,0,1}).`), 'noport');
      assert.deepEqual(logger.lines.filter((l) => /^(warn|error)/.test(l)), []);

      // erl gone: its name is gone.
      await peer.stop();
      peer = undefined;
      assert.ok(await eventually(() => server.names().every((n) => n.name !== xName), 5000), 'unregistered when erl stopped');
    } finally {
      ts?.close();
      await peer?.stop();
      await server.stop();
    }
  });
}

test('(c) OTP 25: two erl nodes on 127.0.0.2 and 127.0.0.3 find each other through per-address EpmdServers', { timeout: 120_000 }, async (t) => {
  if (!requireOtp(t, 25)) return;
  // One port for every EPMD: erl asks ERL_EPMD_PORT on the peer's host.
  const port = await freeSharedPort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  const started: EpmdServer[] = [];
  const peers: ErlPeer[] = [];
  const regs: EpmdRegistration[] = [];
  try {
    // erl registers with 127.0.0.1 whatever its host, so a registrar has to listen there;
    // real epmd could not run beside the other two on this port, ours binds only its address.
    const registrar = await EpmdServer.start({ address: '127.0.0.1', port });
    started.push(registrar);
    const two = await EpmdServer.start({ address: '127.0.0.2', port });
    started.push(two);
    const three = await EpmdServer.start({ address: '127.0.0.3', port });
    started.push(three);

    const aName = `a_${RUN}`;
    const bName = `b_${RUN}`;
    const a = await ErlPeer.start({ name: `${aName}@127.0.0.2`, cookie: COOKIE, epmdPort: port });
    peers.push(a);
    const b = await ErlPeer.start({ name: `${bName}@127.0.0.3`, cookie: COOKIE, epmdPort: port });
    peers.push(b);
    const aPort = (await portPlease2({ host: '127.0.0.1', port, name: aName }))?.port;
    const bPort = (await portPlease2({ host: '127.0.0.1', port, name: bName }))?.port;
    assert.ok(aPort !== undefined && bPort !== undefined, 'both registered with the registrar');

    // Nothing on 127.0.0.3 knows b yet, and a asks 127.0.0.3, so a cannot reach b.
    assert.equal(await a.eval(`erl_epmd:port_please("${bName}", {127,0,0,3}).`), 'noport');
    assert.equal(await a.eval(`net_adm:ping('${bName}@127.0.0.3').`), 'pang');

    // Each host's EPMD publishes its own node (our client, as a TS node would register itself).
    regs.push(await registerNode({ host: '127.0.0.2', port, name: aName, distPort: aPort }));
    regs.push(await registerNode({ host: '127.0.0.3', port, name: bName, distPort: bPort }));
    assert.deepEqual(two.names(), [{ name: aName, port: aPort }]);
    assert.deepEqual(three.names(), [{ name: bName, port: bPort }]);

    assert.equal(await a.eval(`erl_epmd:port_please("${bName}", {127,0,0,3}).`), `{port,${bPort},6}`);
    assert.deepEqual(erlNames(await a.eval('net_adm:names({127,0,0,3}).')), [[bName, bPort]]);
    assert.deepEqual(erlNames(await b.eval('net_adm:names({127,0,0,2}).')), [[aName, aPort]]);
    assert.equal(await a.eval(`net_adm:ping('${bName}@127.0.0.3').`), 'pong');
    assert.equal(await b.eval('nodes().'), `['${aName}@127.0.0.2']`);
    // And back the other way, after a disconnect, through 127.0.0.2's EPMD.
    assert.equal(await b.eval(`erlang:disconnect_node('${aName}@127.0.0.2').`), 'true');
    assert.ok(await eventually(async () => (await a.eval('nodes().')) === '[]', 5000));
    assert.equal(await b.eval(`net_adm:ping('${aName}@127.0.0.2').`), 'pong');
  } finally {
    for (const r of regs) r.close();
    for (const p of peers) await p.stop();
    for (const s of started) await s.stop();
  }
});
