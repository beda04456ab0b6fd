// The nessie command: --help, bad options refused with a message, and a live
// `nessie start` that joins a node it finds through dnsmasq and serves /healthz and /status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Node, silentLogger } from '../../src/index.js';
import { Dnsmasq, requireDnsmasq } from '../support/dnsmasq.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const nessie = (args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1, stdout, stderr }),
    );
  });

test('nessie --help documents every command', async () => {
  const { code, stdout } = await nessie(['--help']);
  assert.equal(code, 0);
  for (const word of ['nessie start', 'nessie epmd', '--query', '--status-port', '--no-epmd', '--dns-server']) assert.ok(stdout.includes(word), word);
});

test('bad options are refused with a message that says what to fix', async () => {
  const noName = await nessie(['start']);
  assert.equal(noName.code, 2);
  assert.match(noName.stderr, /--name is required/);
  const badName = await nessie(['start', '--name', 'no-at-sign', '--cookie', 'c']);
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /invalid option name.*basename@host/);
  const unknown = await nessie(['start', '--nme', 'x']);
  assert.equal(unknown.code, 2);
});

test('nessie start joins the cluster DNS describes and serves /healthz and /status', { timeout: 60_000 }, async (t) => {
  if (!requireDnsmasq(t)) return;
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
  const statusPort = await freeSharedPort(['127.0.0.2']);
  const dns = await Dnsmasq.start();
  const peer = await Node.start({ name: 'app@127.0.0.3', cookie: 'cli-cookie', epmd: false, port, logger: silentLogger });
  await dns.set('cli.test', ['127.0.0.2', '127.0.0.3']);
  const cli = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', '--name', 'app@127.0.0.2', '--cookie', 'cli-cookie',
    '--query', 'cli.test', '--dns-server', dns.server, '--no-epmd', '--port', String(port), '--interval', '300', '--status-port', String(statusPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (d) => (out += d));
  cli.stderr.on('data', (d) => (out += d));
  try {
    const base = `http://127.0.0.2:${statusPort}`;
    const healthy = await eventually(async () => (await fetch(`${base}/healthz`).then((r) => r.status, () => 0)) === 200, 20_000);
    assert.ok(healthy, out);
    assert.ok(await eventually(() => peer.nodes().includes('app@127.0.0.2'), 10_000), 'the CLI node connected to us');
    const status = (await (await fetch(`${base}/status`)).json()) as { name: string; nodes: string[]; hasRan: boolean; lastDiscovery: { found: string[] } };
    assert.equal(status.name, 'app@127.0.0.2');
    assert.deepEqual(status.nodes, ['app@127.0.0.3']);
    assert.equal(status.hasRan, true);
    assert.deepEqual(status.lastDiscovery.found, ['app@127.0.0.3']);
    assert.ok(!out.includes('cli-cookie'), 'the cookie is never logged');
    assert.match(out, /nodeup app@127.0.0.3/);
  } finally {
    const exited = new Promise((r) => cli.once('exit', r));
    cli.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (cli.exitCode === null) cli.kill('SIGKILL');
    await peer.stop();
    await dns.remove();
  }
});
