// Options under `exactOptionalPropertyTypes`: a strict user passes values that may be
// undefined (`process.env.X`, a config field) and means "not given". The types must let
// them (test/support/exact-optional-options.ts is type-checked with that flag on, as the
// main tsconfig has it off), and at run time an undefined option must get its default,
// as a missing one does, while the checks of given values stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DnsCluster, DnsQuery, startSpec, stop } from '../../src/cluster/dns-cluster.js';
import { InvalidOptionError } from '../../src/errors.js';
import { resolveNodeOptions } from '../../src/node/options.js';
import { fakeNode, fakeResolver } from './fakes.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

test('NodeOptions, DefaultResolverOptions, DnsQueryOptions and startSpec options take undefined under exactOptionalPropertyTypes', { timeout: 120_000 }, async () => {
  const args = [
    TSC, '--noEmit', '--strict', '--exactOptionalPropertyTypes', '--skipLibCheck', '--target', 'ES2022',
    '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', 'test/support/exact-optional-options.ts',
  ];
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = execFile(process.execPath, args, { cwd: REPO, timeout: 110_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (child.exitCode ?? 1), text: stdout + stderr });
    });
  });
  // The library's own sources are not written for the flag (users get its .d.ts), so
  // their errors are set aside; nothing else may fail, and the fixture not at all.
  const errors = out.text.split('\n').filter((line) => /error TS\d+/.test(line));
  const others = errors.filter((line) => !/^src\/\S+\(\d+,\d+\): error/.test(line));
  assert.deepEqual(others, [], out.text);
  assert.ok(out.code === 0 || errors.length > 0, out.text);
});

test('an undefined node option gets its default, as a missing one does; given values are still checked', () => {
  const env = { NESSIE_COOKIE: 'from-env' };
  const missing = resolveNodeOptions({ name: 'a@127.0.0.1' }, env);
  const undef = resolveNodeOptions(
    {
      name: 'a@127.0.0.1', cookie: undefined, epmd: { port: undefined }, port: undefined, hidden: undefined, ticktime: undefined,
      connectTimeout: undefined, listenAddress: undefined, maxMessageSize: undefined, busyLimit: undefined, maxQueuedBytes: undefined,
      maxTermsPerMessage: undefined, maxFragmentBytes: undefined, fragmentTimeout: undefined, logger: undefined,
    },
    env,
  );
  assert.deepEqual({ ...undef, logger: undefined }, { ...missing, logger: undefined });
  assert.throws(() => resolveNodeOptions({ name: 'a@127.0.0.1', port: 70000, cookie: undefined }, env), InvalidOptionError);
});

test('an undefined cluster option gets its default, as a missing one does; given values are still checked', async () => {
  const { resolver } = fakeResolver({}, new Set());
  const node = fakeNode();
  const handle = await startSpec(
    {
      name: undefined, queries: [DnsQuery.query('x', { basename: undefined, names: undefined })], interval: null, logger: () => undefined, resolver,
      connectTimeout: undefined, maxConcurrentConnects: undefined, prune: undefined, pruneAfter: undefined, epmdNames: undefined, disconnectOnStop: undefined,
    },
    node,
  );
  // It took the default name: a second cluster under that name on the same node is refused.
  await assert.rejects(startSpec({ name: 'nessie_cluster', queries: [DnsQuery.Ignore], interval: null, resolver }, node), /nessie_cluster/);
  await stop(handle);
  const built = DnsCluster.new().withEpmdNames({ timeoutMs: undefined, cacheMs: 5 }).build();
  assert.deepEqual(built.epmdNames, { timeoutMs: 1000, cacheMs: 5, maxCached: 1024 });
  await assert.rejects(startSpec({ queries: [DnsQuery.Ignore], interval: undefined, pruneAfter: 0 }, fakeNode()), InvalidOptionError);
});
