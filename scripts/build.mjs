#!/usr/bin/env node
// Builds dist/ from src/ for the package (`npm run build`, and `prepare`, which npm
// runs on `npm pack`, `npm publish` and installs from a git URL). dist/ is emptied
// first: a file whose source was renamed or removed must not ship.
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev` in a checkout still runs `prepare`.
  console.error('nessie-cluster build: typescript is not installed. Install the devDependencies (npm ci), or skip the build with --ignore-scripts when dist/ comes from elsewhere.');
  process.exit(1);
}

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// The `nessie` bin runs straight from a checkout (npm link) too, not only once npm installed it.
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
