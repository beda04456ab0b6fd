#!/usr/bin/env node
// Runs the test files under the given folders (default: test/) with node's own runner
// and tsx as the TypeScript loader. Node 20's `--test` cannot glob .ts files itself,
// so the files are listed here. Interop files run one at a time: they start real
// BEAM peers and bind fixed loopback addresses.
//
// Unhandled rejections are fatal (--unhandled-rejections=strict): a promise that
// rejects with nobody listening is a bug that, in a running node, would take the
// process down. The runner passes the flag on to each test file's process (node:test
// then reports the rejection as an uncaughtException and fails that file), and
// NODE_OPTIONS carries it to the Node processes the tests start themselves (the CLI's).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = process.argv.slice(2);
const targets = roots.length > 0 ? roots : ['test'];

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const entry of readdirSync(path).sort()) {
    if (entry === 'support' || entry === 'fixtures') continue;
    collect(join(path, entry), out);
  }
  return out;
}

const files = targets.flatMap((t) => collect(t, []));
if (files.length === 0) {
  console.error(`no test files under ${targets.join(', ')}`);
  process.exit(1);
}
const STRICT = '--unhandled-rejections=strict';
const nodeOptions = [process.env.NODE_OPTIONS, STRICT].filter(Boolean).join(' ');
const result = spawnSync(
  process.execPath,
  [STRICT, '--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: nodeOptions } },
);
process.exit(result.status ?? 1);
