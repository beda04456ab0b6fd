// `nessie start --tls-cert --tls-key --tls-ca`: the flags checked before anything starts,
// and a live CLI node that TLS nodes reach, whose certificates SIGHUP reloads without
// dropping a connection (and a bad file on SIGHUP keeps the old ones). The CLI started
// here is stopped by its PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Node } from '../../src/index.js';
import { readStartConfig } from '../../src/cli/start-config.js';
import { UsageError } from '../../src/cli/usage.js';
import { eventually, freeSharedPort } from '../support/ports.js';
import { TestPki } from '../support/tls-certs.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ENV = { NESSIE_COOKIE: 'tls-cli-cookie' };

test('the --tls-* flags: both files needed, unreadable or bad files refused by flag, never echoed', () => {
  const pki = new TestPki();
  try {
    pki.ca('ca');
    const a = pki.issue('a', 'ca');
    const base = ['--name', 'cli@127.0.0.1'];
    const refused = (args: string[], pattern: RegExp) =>
      assert.throws(() => readStartConfig([...base, ...args], ENV), (e: unknown) => e instanceof UsageError && pattern.test(e.message) && !e.message.includes('PRIVATE KEY'));
    refused(['--tls-cert', a.certFile], /--tls-key/);
    refused(['--tls-cert', a.certFile, '--tls-key', a.keyFile], /--tls-ca/);
    refused(['--tls-cert', a.certFile, '--tls-key', join(pki.dir, 'missing.key'), '--tls-ca', a.caFile], /--tls-key .*ENOENT/);
    refused(['--tls-cert', a.certFile, '--tls-key', a.certFile, '--tls-ca', a.caFile], /tls\.key/);
    refused(['--tls-cert', a.certFile, '--tls-key', a.keyFile, '--tls-verify', 'maybe'], /--tls-verify/);
    const c = readStartConfig([...base, '--tls-cert', a.certFile, '--tls-key', a.keyFile, '--tls-ca', a.caFile], ENV);
    assert.ok(c !== 'help' && c.node.tls !== undefined && c.tlsFiles?.verify === 'verify_peer');
    const none = readStartConfig([...base, '--tls-cert', a.certFile, '--tls-key', a.keyFile, '--tls-verify', 'none'], ENV);
    assert.ok(none !== 'help' && none.node.tls?.verify === 'verify_none');
  } finally {
    pki.remove();
  }
});

test('nessie start over TLS: TLS nodes connect; SIGHUP reloads the certificates and keeps live connections', { timeout: 60_000 }, async () => {
  const pki = new TestPki();
  const nodes: Node[] = [];
  const port = await freeSharedPort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  pki.ca('ca1');
  pki.ca('ca2');
  const cli1 = pki.issue('cli1', 'ca1');
  const cli2 = pki.issue('cli2', 'ca2');
  // The files the CLI reads, rewritten in place like a mounted secret.
  const cert = join(pki.dir, 'tls.crt');
  const key = join(pki.dir, 'tls.key');
  const ca = join(pki.dir, 'ca.crt');
  copyFileSync(cli1.certFile, cert);
  copyFileSync(cli1.keyFile, key);
  writeFileSync(ca, cli1.ca + cli2.ca);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'start', '--name', 'cli@127.0.0.3', '--no-epmd', '--port', String(port), '--tls-cert', cert, '--tls-key', key, '--tls-ca', ca],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...ENV } },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    assert.ok(await eventually(() => output.includes('not discovering'), 20_000), output);
    const a = pki.issue('a', 'ca1');
    const old = await Node.start({ name: 'old@127.0.0.2', cookie: ENV.NESSIE_COOKIE, epmd: false, port, logger: () => undefined, tls: pki.nodeTls(a, [a.ca]) });
    nodes.push(old);
    assert.equal(await old.ping('cli@127.0.0.3'), 'pong');

    const b = pki.issue('b', 'ca2');
    const fresh = await Node.start({ name: 'fresh@127.0.0.4', cookie: ENV.NESSIE_COOKIE, epmd: false, port, connectTimeout: 3000, logger: () => undefined, tls: pki.nodeTls(b, [b.ca]) });
    nodes.push(fresh);
    assert.equal(await fresh.ping('cli@127.0.0.3'), 'pang', 'the CLI still presents the CA 1 certificate');

    copyFileSync(cli2.certFile, cert);
    copyFileSync(cli2.keyFile, key);
    process.kill(child.pid!, 'SIGHUP');
    assert.ok(await eventually(() => output.includes('TLS certificates reloaded'), 10_000), output);
    assert.equal(await fresh.ping('cli@127.0.0.3'), 'pong');
    assert.deepEqual(old.nodes(), ['cli@127.0.0.3'], 'the live connection stayed');

    // A key file caught half-written: the reload is refused, the node keeps serving.
    writeFileSync(key, 'not a key');
    process.kill(child.pid!, 'SIGHUP');
    assert.ok(await eventually(() => output.includes('not reloaded'), 10_000), output);
    assert.equal(child.exitCode, null);
    assert.ok(!output.includes('PRIVATE KEY'), 'no key material in the log');
    // New connections still get the certificate of the last good reload.
    await fresh.disconnect('cli@127.0.0.3');
    assert.ok(await eventually(() => fresh.nodes().length === 0, 5000));
    assert.equal(await fresh.ping('cli@127.0.0.3'), 'pong');
    assert.deepEqual(old.nodes(), ['cli@127.0.0.3']);
  } finally {
    for (const n of nodes) await n.stop();
    if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    pki.remove();
  }
});
