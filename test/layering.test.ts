// The folders are the architecture: imports go one way only,
// term <- distribution, epmd (siblings) <- node <- cluster <- cli. A lower layer never imports a higher one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = new URL('../src/', import.meta.url).pathname;
const RANK: Record<string, number> = { root: 0, term: 1, distribution: 2, epmd: 2, node: 3, cluster: 4, cli: 5 };

function layerOf(path: string): string {
  const first = relative(SRC, path).split('/')[0];
  return first.endsWith('.ts') ? 'root' : first;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('src imports go one way only', () => {
  const violations: string[] = [];
  for (const file of files(SRC)) {
    const from = layerOf(file);
    if (file === join(SRC, 'index.ts')) continue; // the public entry re-exports every layer
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const target = join(file, '..', m[1]);
      const to = layerOf(target);
      const sideways = from !== to && RANK[from] === RANK[to];
      if (RANK[to] > RANK[from] || sideways) violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(violations, []);
});
