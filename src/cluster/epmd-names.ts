/**
 * Basename discovery through EPMD, for `names` queries: which names are registered at
 * an address (NAMES_REQ), asked with a deadline per address and remembered for a while.
 *
 * Why: a release whose node name changes per deploy (Fly's recommended
 * `RELEASE_NODE=${FLY_APP_NAME}-${FLY_IMAGE_REF##*-}@${FLY_PRIVATE_IP}`) cannot be
 * found as `basename@address` with a fixed basename; its EPMD knows the name.
 *
 * Answers are cached per address so a stable cluster does not cost a NAMES_REQ per
 * address per round; the cache is bounded (the oldest entry goes first). A failure is
 * never cached: a booting host whose EPMD is not up yet is asked again next round,
 * and an unanswering one costs at most `timeoutMs` of a round.
 */
import type { EpmdNamesOptions, NamePattern } from './dns-cluster.js';

/** The outcome of asking one address: the names registered there, or why they are not known. */
export type NamesAnswer = { ok: true; names: string[]; cached: boolean } | { ok: false; error: string };

export class EpmdNamesCache {
  /** Map order is insertion order: the first key is the oldest entry. */
  private readonly entries = new Map<string, { names: string[]; at: number }>();

  constructor(
    private readonly ask: (address: string, timeoutMs: number) => Promise<string[]>,
    private readonly options: EpmdNamesOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** The names at `address`: from the cache while fresh, else asked within the timeout. Never rejects. */
  async lookup(address: string): Promise<NamesAnswer> {
    const hit = this.entries.get(address);
    if (hit !== undefined && this.now() - hit.at < this.options.cacheMs) return { ok: true, names: hit.names, cached: true };
    this.entries.delete(address);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<NamesAnswer>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: `EPMD at ${address} did not answer NAMES within ${this.options.timeoutMs} ms` }), this.options.timeoutMs);
    });
    const asked = Promise.resolve()
      .then(() => this.ask(address, this.options.timeoutMs))
      .then(
        (names): NamesAnswer => ({ ok: true, names: names.filter(isAliveName), cached: false }),
        (err: unknown): NamesAnswer => ({ ok: false, error: (err as Error)?.message ?? String(err) }),
      );
    try {
      const answer = await Promise.race([asked, timeout]);
      if (answer.ok) this.remember(address, answer.names);
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the answer for `address`, so the next lookup asks EPMD again (after a connect to a name from it failed). */
  forget(address: string): void {
    this.entries.delete(address);
  }

  /** Addresses with a cached answer, oldest first (for tests and status pages). */
  cachedAddresses(): string[] {
    return [...this.entries.keys()];
  }

  private remember(address: string, names: string[]): void {
    if (this.options.maxCached === 0 || this.options.cacheMs === 0) return;
    this.entries.delete(address);
    while (this.entries.size >= this.options.maxCached) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(address, { names, at: this.now() });
  }
}

/**
 * Whether `pattern` accepts the registered name `name` at `address`. A predicate that
 * throws is user code failing: it matches nothing, and the error is returned to be logged.
 */
export function matchesPattern(pattern: NamePattern, name: string, address: string): { match: boolean; error?: string } {
  if (typeof pattern === 'string') return { match: name.startsWith(pattern) };
  if (pattern instanceof RegExp) {
    // A /g or /y RegExp keeps lastIndex between tests; start each test from the beginning.
    pattern.lastIndex = 0;
    return { match: pattern.test(name) };
  }
  try {
    return { match: pattern(name, address) === true };
  } catch (err) {
    return { match: false, error: (err as Error)?.message ?? String(err) };
  }
}

/** EPMD answers are remote input: keep only names that can be the alive part of a node name. */
function isAliveName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 255 && !/[@\s]/.test(name);
}
