#!/usr/bin/env node
// Runs the test files under the given folders (default: test/) with node's own runner
// and tsx as the TypeScript loader. Node 20's `--test` cannot glob .ts files itself,
// so the files are listed here. Interop files run one at a time: they start real
// BEAM peers and bind fixed loopback addresses.
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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
