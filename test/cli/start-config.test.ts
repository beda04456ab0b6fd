// `nessie start`'s configuration from flags and the environment an Elixir release sets:
// RELEASE_NODE (+ POD_IP / FLY_PRIVATE_IP), RELEASE_DISTRIBUTION, DNS_CLUSTER_QUERY; flags win.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { readStartConfig, type StartConfig } from '../../src/cli/start-config.js';
import { UsageError } from '../../src/cli/usage.js';

// A cookie in every environment, so no test reads or creates ~/.erlang.cookie.
const BASE = { RELEASE_COOKIE: 'env-cookie' };

function config(argv: string[], env: NodeJS.ProcessEnv = {}): StartConfig {
  const c = readStartConfig(argv, { ...BASE, ...env });
  assert.notEqual(c, 'help');
  return c as StartConfig;
}

function refused(argv: string[], env: NodeJS.ProcessEnv, message: RegExp): void {
  assert.throws(() => readStartConfig(argv, { ...BASE, ...env }), (err: unknown) => {
    assert.ok(err instanceof UsageError, `a UsageError, not ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

test('RELEASE_NODE as a bare basename takes POD_IP, else FLY_PRIVATE_IP, for its host', () => {
  assert.equal(config([], { RELEASE_NODE: 'app', POD_IP: '10.1.2.3' }).node.name, 'app@10.1.2.3');
  assert.equal(config([], { RELEASE_NODE: 'app', FLY_PRIVATE_IP: 'fdaa:0:1:a7b:1::2' }).node.name, 'app@fdaa:0:1:a7b:1::2');
  assert.equal(config([], { RELEASE_NODE: 'app', POD_IP: '10.1.2.3', FLY_PRIVATE_IP: 'fdaa::2' }).node.name, 'app@10.1.2.3');
  // Fly's recommended RELEASE_NODE arrives whole, expanded by the shell.
  assert.equal(config([], { RELEASE_NODE: 'my-app-01HX@fdaa::2', POD_IP: '10.1.2.3' }).node.name, 'my-app-01HX@fdaa::2');
  assert.equal(config([], { RELEASE_NODE: 'app@10.0.0.1' }).nameSource, 'RELEASE_NODE');
});

test('flags override the environment', () => {
  const c = config(['--name', 'ts@10.0.0.9', '--query', 'flag.internal', '--cookie', 'flag-cookie'], {
    RELEASE_NODE: 'app@10.0.0.1', DNS_CLUSTER_QUERY: 'env.internal',
  });
  assert.equal(c.node.name, 'ts@10.0.0.9');
  assert.equal(c.nameSource, '--name');
  assert.deepEqual(c.queries, [{ type: 'query', query: 'flag.internal' }]);
  assert.equal(c.node.cookie, 'flag-cookie');
  // Without --cookie the node reads RELEASE_COOKIE itself (the option stays unset).
  assert.equal(config(['--name', 'ts@10.0.0.9']).node.cookie, undefined);
  // A bare --name takes POD_IP too.
  assert.equal(config(['--name', 'ts'], { POD_IP: '10.0.0.7' }).node.name, 'ts@10.0.0.7');
  // --busy-wait reaches the node's busyWait option; left out, the node's default (off).
  assert.equal(config(['--name', 'ts@10.0.0.9', '--busy-wait', '100']).node.busyWait, 100);
  assert.equal(config(['--name', 'ts@10.0.0.9']).node.busyWait, undefined);
});

test('DNS_CLUSTER_QUERY gives the queries: one name, or several separated by commas or blanks, BASENAME:NAME kept', () => {
  const env = { RELEASE_NODE: 'app@10.0.0.1' };
  assert.deepEqual(config([], { ...env, DNS_CLUSTER_QUERY: 'app.internal' }).queries, [{ type: 'query', query: 'app.internal' }]);
  assert.deepEqual(config([], { ...env, DNS_CLUSTER_QUERY: 'a.internal, web:b.internal  c.internal' }).queries, [
    { type: 'query', query: 'a.internal' },
    { type: 'query', query: 'b.internal', basename: 'web' },
    { type: 'query', query: 'c.internal' },
  ]);
  assert.deepEqual(config([], { ...env, DNS_CLUSTER_QUERY: '' }).queries, []);
  // Fly's per-release basenames: a names query, found through EPMD.
  const [names] = config([], { ...env, DNS_CLUSTER_QUERY: 'my-app-*:my-app.internal' }).queries;
  assert.deepEqual(names, { type: 'query', query: 'my-app.internal', names: 'my-app-' });
});

test('RELEASE_DISTRIBUTION: sname builds the name from the short hostname; none and DNS with sname are refused', () => {
  const short = hostname().split('.')[0];
  assert.equal(config([], { RELEASE_NODE: 'app', RELEASE_DISTRIBUTION: 'sname' }).node.name, `app@${short}`);
  refused([], { RELEASE_NODE: 'app@10.0.0.1', RELEASE_DISTRIBUTION: 'none' }, /RELEASE_DISTRIBUTION=none: .*set RELEASE_DISTRIBUTION=name/);
  refused([], { RELEASE_NODE: 'app@10.0.0.1', RELEASE_DISTRIBUTION: 'long' }, /RELEASE_DISTRIBUTION must be name, sname or none/);
  refused([], { RELEASE_NODE: 'app', RELEASE_DISTRIBUTION: 'sname', DNS_CLUSTER_QUERY: 'q' }, /needs long names/);
});

test('every bad value is refused with what to do instead', () => {
  const name = ['--name', 'app@10.0.0.1'];
  refused([], {}, /no node name: pass --name BASENAME@IP, or set RELEASE_NODE/);
  refused([], { RELEASE_NODE: 'app' }, /RELEASE_NODE=app has no host part: use app@IP, or set POD_IP/);
  refused([], { RELEASE_NODE: 'app', POD_IP: 'not-an-ip' }, /POD_IP must be an IP address/);
  refused(['--name', 'bad name@10.0.0.1'], {}, /invalid option --name: expected 'basename@host'/);
  refused([...name, '--nme', 'x'], {}, /unknown option --nme \(did you mean --name\?\)/);
  refused([...name, '--interval'], {}, /--interval needs a value/);
  refused([...name, '--interval', '5s'], {}, /--interval needs a number of ms/);
  refused([...name, '--port', '70000'], {}, /--port needs a port \(an integer from 0 to 65535\)/);
  refused([...name, '--no-epmd'], {}, /--no-epmd needs --port P/);
  refused([...name, '--ticktime', '0'], {}, /--ticktime needs a number of seconds/);
  refused([...name, '--busy-wait', '20000'], {}, /--busy-wait needs a number of µs \(an integer from 0 to 10000\)/);
  refused([...name, '--dns-server', 'dns.example'], {}, /--dns-server needs IP or IP:PORT/);
  refused([...name, '--status-port', '0'], {}, /--status-port needs a port/);
  refused([...name, '--status-host', '127.0.0.1'], {}, /--status-host needs --status-port/);
  refused([...name, '--status-port', '4000', '--status-host', 'localhost'], {}, /--status-host needs an IP address/);
  refused([...name, '--ready-min-peers', '1'], {}, /add --status-port P/);
  refused([...name, '--log-level', 'trace'], {}, /--log-level needs one of debug, info, warn, error/);
  refused([...name, '--log-format', 'yaml'], {}, /--log-format needs text or json/);
  refused([...name, '--query', ''], {}, /--query needs a DNS name/);
  refused([...name, 'extra'], {}, /unexpected argument "extra"/);
  // The node's own checks run here too, before anything starts; the cookie is never echoed.
  refused(name, { RELEASE_COOKIE: 'x'.repeat(300) }, /invalid option RELEASE_COOKIE: .*\(redacted\)/);
});

test('status, readiness and logging options', () => {
  const c = config(['--name', 'app@10.0.0.1', '--status-port', '4000', '--ready-min-peers', '2', '--ready-lookup', '--log-format', 'json', '--verbose']);
  assert.deepEqual(c.status, { host: '10.0.0.1', port: 4000 });
  assert.deepEqual(c.readiness, { minPeers: 2, lookup: true });
  assert.deepEqual(c.log, { level: 'debug', format: 'json' });
  assert.deepEqual(config(['--name', 'app@10.0.0.1']).log, { level: 'info', format: 'text' });
  assert.deepEqual(config(['--name', 'app@10.0.0.1']).readiness, { lookup: false });
  assert.equal(readStartConfig(['--help'], BASE), 'help');
});
