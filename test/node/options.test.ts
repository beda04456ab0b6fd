// Bad options are refused at start with a message that says what to fix; the cookie
// comes from the option, the environment or ~/.erlang.cookie (created 0400) and is
// never echoed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '../../src/errors.js';
import { resolveCookie } from '../../src/node/cookie.js';
import { parseNodeName } from '../../src/node/node-name.js';
import { resolveNodeOptions } from '../../src/node/options.js';

const env = { NESSIE_COOKIE: 'from-env' };

test('names: basename@host, IPv4 and bare IPv6 hosts; anything else refused', () => {
  assert.deepEqual(parseNodeName('app@fdaa:0:1::2'), { name: 'app@fdaa:0:1::2', basename: 'app', host: 'fdaa:0:1::2', ipVersion: 6 });
  assert.equal(parseNodeName('app@10.0.0.1').ipVersion, 4);
  assert.equal(parseNodeName('app@my-host.internal').ipVersion, 0);
  for (const bad of ['noat', '@host', 'app@', 'a b@host', 'x'.repeat(256) + '@h', 42]) {
    assert.throws(() => parseNodeName(bad), (e: unknown) => e instanceof InvalidOptionError && e.code === 'ERR_INVALID_OPTION' && /basename@host/.test(e.message));
  }
});

test('bad options are refused with the option named and what was expected', () => {
  const check = (o: object, option: RegExp) =>
    assert.throws(() => resolveNodeOptions({ name: 'a@127.0.0.1', ...o } as never, env), (e: unknown) => e instanceof InvalidOptionError && option.test(e.message));
  check({ port: 70000 }, /port: expected an integer port/);
  check({ epmd: false }, /port: expected a port number when epmd is false/);
  check({ ticktime: 0 }, /ticktime/);
  check({ connectTimeout: -1 }, /connectTimeout/);
  check({ listenAddress: 'not-an-ip' }, /listenAddress/);
  check({ cookie: '' }, /cookie/);
  check({ maxTermsPerMessage: 0 }, /maxTermsPerMessage/);
  check({ maxQueuedBytes: -5 }, /maxQueuedBytes/);
  check({ maxFragmentBytes: 'big' }, /maxFragmentBytes/);
  check({ fragmentTimeout: NaN }, /fragmentTimeout/);
  check({ busyWait: -1 }, /busyWait: expected microseconds from 0 \(off\) to 10000/);
  check({ busyWait: 20_000 }, /busyWait/);
  check({ busyWait: '100' }, /busyWait/);
  check({ busyWait: NaN }, /busyWait/);
  assert.throws(() => resolveNodeOptions({ name: 'a@127.0.0.1', cookie: '' }, env), (e: unknown) => !(e as Error).message.includes('from-env'));
});

test('defaults: EPMD on 4369 (or ERL_EPMD_PORT), ticktime 60 s, setup 7 s, listen on the name\'s IP', () => {
  const o = resolveNodeOptions({ name: 'a@127.0.0.5' }, env);
  assert.deepEqual(o.epmd, { port: 4369 });
  assert.equal(o.ticktimeMs, 60_000);
  assert.equal(o.connectTimeoutMs, 7000);
  assert.equal(o.listenAddress, '127.0.0.5');
  assert.equal(o.cookie, 'from-env');
  assert.equal(o.busyWaitUs, 0, 'busy waiting is off unless asked for');
  // The limits that bound what one peer can make us hold (README, Security).
  assert.deepEqual([o.maxMessageSize, o.maxQueuedBytes, o.maxTermsPerMessage, o.maxFragmentBytes, o.fragmentTimeoutMs], [
    256 * 1024 * 1024, 64 * 1024 * 1024, 1 << 20, 256 * 1024 * 1024, 60_000,
  ]);
  assert.deepEqual(resolveNodeOptions({ name: 'a@127.0.0.5' }, { ...env, ERL_EPMD_PORT: '4400' }).epmd, { port: 4400 });
});

test('the cookie: option, NESSIE_COOKIE, RELEASE_COOKIE, then ~/.erlang.cookie created with mode 0400', () => {
  const home = mkdtempSync(join(tmpdir(), 'nessie-home-'));
  try {
    assert.equal(resolveCookie('given', env, home), 'given');
    assert.equal(resolveCookie(undefined, { RELEASE_COOKIE: 'rel' }, home), 'rel');
    const made = resolveCookie(undefined, {}, home);
    assert.match(made, /^[A-Z]{20}$/);
    const file = join(home, '.erlang.cookie');
    assert.equal(statSync(file).mode & 0o777, 0o400);
    assert.equal(readFileSync(file, 'latin1'), made);
    assert.equal(resolveCookie(undefined, {}, home), made, 'read back, not made again');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
