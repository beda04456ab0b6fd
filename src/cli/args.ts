/**
 * Command-line reading shared by the `nessie` commands: parseArgs's errors turned
 * into UsageErrors that name the fix, and checked numbers.
 */
import { UsageError } from './usage.js';

/** node:util parseArgs's error as a UsageError for `command` that names the fix (`known`: the option names). */
export function argsError(err: unknown, known: string[], command: 'start' | 'epmd'): UsageError {
  return new UsageError(explainParseError(err, known), command);
}

function explainParseError(err: unknown, known: string[]): string {
  const code = (err as NodeJS.ErrnoException).code;
  const message = (err as Error).message ?? String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const near = closest(quoted.replace(/^-+/, ''), known);
    return `unknown option ${quoted}${near === undefined ? '' : ` (did you mean --${near}?)`}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = quoted.split(' ')[0];
    return message.includes('argument missing') ? `${flag} needs a value` : `${flag} takes no value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${JSON.stringify(quoted)}: every value follows its --option`;
  return message;
}

/** The known option nearest to `word` by edit distance, if it is a plausible typo. */
function closest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** An integer option within [min, max], or undefined when absent. */
export function integerOption(flag: string, value: string | undefined, min: number, max: number, what: string, command: 'start' | 'epmd'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} needs ${what} (an integer from ${min} to ${max}), got ${JSON.stringify(value)}`, command);
  }
  return n;
}
