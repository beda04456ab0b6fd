/**
 * When `nessie start` is ready, for /readyz: a pure rule over what the node and its
 * cluster report, so probes and tests read the same answer with its reason.
 */

/** What /readyz needs beyond a finished first discovery round. */
export interface ReadinessRule {
  /** At least this many connected nodes. */
  minPeers?: number;
  /** The last round's DNS lookups all succeeded. With `minPeers`, either condition is enough. */
  lookup: boolean;
}

export interface ReadinessInput {
  phase: 'starting' | 'running' | 'stopping';
  /** No query: nothing is looked up, so the node is ready once started. */
  ignoring: boolean;
  /** A discovery round has finished. */
  ran: boolean;
  /** Connected nodes. */
  peers: number;
  /** The last round's failed lookups (empty when they all succeeded). */
  lookupErrors: ReadonlyArray<{ query: string; error: string }>;
}

export interface Readiness {
  ready: boolean;
  /** Why, in a sentence: shown by /readyz and /status. */
  reason: string;
}

export function readiness(rule: ReadinessRule, s: ReadinessInput): Readiness {
  if (s.phase === 'starting') return { ready: false, reason: 'starting' };
  if (s.phase === 'stopping') return { ready: false, reason: 'stopping' };
  if (s.ignoring) return { ready: true, reason: 'started; no DNS query, so nothing to discover' };
  if (!s.ran) return { ready: false, reason: 'the first discovery round has not finished' };
  const peersText = `${s.peers} node${s.peers === 1 ? '' : 's'} connected`;
  const lookupText = s.lookupErrors.length === 0
    ? 'the last DNS lookup succeeded'
    : `the last DNS lookup failed (${s.lookupErrors.map((e) => `${e.query}: ${e.error}`).join('; ')})`;
  const peersOk = rule.minPeers !== undefined && s.peers >= rule.minPeers;
  const lookupOk = rule.lookup && s.lookupErrors.length === 0;
  if (rule.minPeers === undefined && !rule.lookup) return { ready: true, reason: `discovery has run; ${peersText}` };
  if (peersOk || lookupOk) return { ready: true, reason: `${peersText}; ${lookupText}` };
  const wanted = [rule.minPeers === undefined ? undefined : `at least ${rule.minPeers} connected`, rule.lookup ? 'a successful DNS lookup' : undefined]
    .filter((w) => w !== undefined)
    .join(' or ');
  return { ready: false, reason: `waiting for ${wanted}: ${peersText}; ${lookupText}` };
}
