/**
 * The package's version, read from its package.json: two folders up from this file
 * both in the source tree (src/cli/) and in the built package (dist/cli/).
 */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
