/**
 * Where the cookie comes from when none is given, in erl's order of preference
 * for a node started without -setcookie, plus the variables Elixir releases use:
 * NESSIE_COOKIE, RELEASE_COOKIE, then ~/.erlang.cookie, which is created (mode 0400,
 * 20 random capital letters, as erl does) when it does not exist.
 *
 * The cookie is a secret: it never appears in an error, a log line or an event.
 */
import { randomInt } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidOptionError } from '../errors.js';

const REDACTED = '(redacted)';

export function resolveCookie(given: unknown, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (given !== undefined) return checkCookie(given, 'cookie');
  if (env.NESSIE_COOKIE) return checkCookie(env.NESSIE_COOKIE, 'NESSIE_COOKIE');
  if (env.RELEASE_COOKIE) return checkCookie(env.RELEASE_COOKIE, 'RELEASE_COOKIE');
  const file = join(home, '.erlang.cookie');
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    text = Array.from({ length: 20 }, () => String.fromCharCode(65 + randomInt(26))).join('');
    writeFileSync(file, text, { mode: 0o400, flag: 'wx' });
    chmodSync(file, 0o400);
  }
  // erl uses the first line, without surrounding blanks.
  return checkCookie(text.split('\n')[0].trim(), file);
}

function checkCookie(cookie: unknown, source: string): string {
  if (typeof cookie !== 'string' || cookie.length === 0 || cookie.length > 255) {
    // Never echo the value: it is a secret even when malformed.
    throw new InvalidOptionError(source, 'a non-empty cookie of at most 255 characters', typeof cookie === 'string' ? REDACTED : cookie);
  }
  return cookie;
}
