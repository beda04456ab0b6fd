// The tls node option: secure defaults, and clear refusals at start that never echo key material.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidOptionError, Node } from '../../src/index.js';
import { resolveTlsOptions } from '../../src/node/tls-options.js';
import { freePort } from '../support/ports.js';
import { TestPki } from '../support/tls-certs.js';

const pki = new TestPki();
test.after(() => pki.remove());
pki.ca('ca');
pki.ca('other');
const a = pki.issue('a', 'ca');
const b = pki.issue('b', 'other');

function refused(option: string, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidOptionError, String(e));
    assert.equal(e.option, option, e.message);
    assert.ok(!e.message.includes('PRIVATE KEY') && !e.message.includes(a.key.slice(40, 80)), `no key material: ${e.message}`);
    return true;
  });
}

test('defaults: verify the peer against the CA, refuse a client without a certificate, TLS 1.2 at least, name checked', () => {
  const s = resolveTlsOptions({ cert: a.cert, key: a.key, ca: a.ca });
  assert.ok(s !== undefined);
  assert.equal(s.verifyPeer, true);
  assert.equal(s.failIfNoPeerCert, true);
  assert.equal(s.serverName, undefined);
  assert.equal(s.context.minVersion, 'TLSv1.2');
  assert.equal(resolveTlsOptions(undefined), undefined);
  // Buffers are taken as well as text.
  assert.ok(resolveTlsOptions({ cert: Buffer.from(a.cert), key: Buffer.from(a.key), ca: [Buffer.from(a.ca), b.ca] }));
});

test('a key that cannot be read or does not match the certificate is refused, without echoing it', () => {
  refused('tls.key', () => resolveTlsOptions({ cert: a.cert, key: a.key.replace(/\n[^-]+\n-----END/, '\nZ2FyYmFnZQ==\n-----END'), ca: a.ca }));
  refused('tls.key', () => resolveTlsOptions({ cert: a.cert, key: b.key, ca: a.ca }));
  refused('tls.key', () => resolveTlsOptions({ cert: a.cert, key: '/etc/tls/tls.key', ca: a.ca }));
  refused('tls.key', () => resolveTlsOptions({ cert: a.cert, key: undefined as never, ca: a.ca }));
  refused('tls.cert', () => resolveTlsOptions({ cert: a.key, key: a.key, ca: a.ca }));
});

test('other bad values are refused with the option named', () => {
  refused('tls.ca', () => resolveTlsOptions({ cert: a.cert, key: a.key }));
  refused('tls.verify', () => resolveTlsOptions({ cert: a.cert, key: a.key, ca: a.ca, verify: 'verify_some' as never }));
  refused('tls.failIfNoPeerCert', () => resolveTlsOptions({ cert: a.cert, key: a.key, ca: a.ca, failIfNoPeerCert: 'yes' as never }));
  refused('tls.serverName', () => resolveTlsOptions({ cert: a.cert, key: a.key, ca: a.ca, serverName: '' }));
  refused('tls.minVersion', () => resolveTlsOptions({ cert: a.cert, key: a.key, ca: a.ca, minVersion: 'TLSv1' as never }));
  refused('tls.ciphers', () => resolveTlsOptions({ cert: a.cert, key: a.key, ca: a.ca, ciphers: 'NO-SUCH-CIPHER' }));
  // verify_none needs no CA (tests only).
  assert.equal(resolveTlsOptions({ cert: a.cert, key: a.key, verify: 'verify_none' })?.verifyPeer, false);
});

test('Node.start refuses a bad key before listening; reloadTls refuses bad options and keeps the old ones', async () => {
  await assert.rejects(
    Node.start({ name: 'tlsopt@127.0.0.1', cookie: 'c', epmd: false, port: 1, tls: { cert: a.cert, key: b.key, ca: a.ca } }),
    (e: unknown) => e instanceof InvalidOptionError && e.option === 'tls.key',
  );
  const plain = await Node.start({ name: 'tlsopt@127.0.0.1', cookie: 'c', epmd: false, port: await freePort('127.0.0.1'), logger: () => undefined });
  try {
    refused('tls', () => plain.reloadTls({ cert: a.cert, key: a.key, ca: a.ca }));
  } finally {
    await plain.stop();
  }
});
