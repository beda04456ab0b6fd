// No promise may reject with nobody listening: in a running node that ends the
// process (and scripts/run-tests.mjs makes it fatal in tests). A promise started and
// not awaited is written `void p` on purpose; each such spot in src/ must show why it
// is safe: a `.catch(` in the same statement, or a comment on the line or the line
// above saying it "cannot reject" and why. Promises dropped without `void` are not
// seen here; the strict runner catches those that tests reach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = new URL('../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

// `void` as an operator: followed by an expression, where the type `void` is followed
// by `;`, `,`, `)`, `>`, `|`, `{` or `=`.
const VOID_OPERATOR = /\bvoid\s+(?!0\b)[A-Za-z_$(]/;

test('every promise left un-awaited in src/ says why it cannot reject, or catches', () => {
  const unexplained: string[] = [];
  for (const file of files(SRC)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!VOID_OPERATOR.test(line) || line.trimStart().startsWith('//') || line.trimStart().startsWith('*')) return;
      const explained = line.includes('.catch(') || /cannot reject/.test(line) || /cannot reject/.test(lines[i - 1] ?? '');
      if (!explained) unexplained.push(`${relative(SRC, file)}: ${line.trim()}`);
    });
  }
  assert.deepEqual(unexplained, [], 'un-awaited promises without a reason');
});
