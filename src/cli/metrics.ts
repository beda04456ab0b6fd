/**
 * `/metrics`: counters kept from the node's nodeup/nodedown events and the cluster's
 * discovery events, written in the Prometheus text exposition format (version 0.0.4).
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */
import type { DiscoveryEvent } from '../cluster/handle.js';
import type { ConnectionStats } from '../distribution/connection.js';
import type { NodeStats } from '../node/node.js';

/** Upper bounds (seconds) of the discovery duration histogram: DNS answers in ms, connect timeouts in s. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type NodeKind = 'visible' | 'hidden';

/** What the gauges read at scrape time. */
export interface MetricsSnapshot {
  connected: Record<NodeKind, number>;
  ready: boolean;
  /** The node's traffic counters (`node.stats()`), once it has started. */
  traffic: NodeStats | undefined;
}

/** The traffic counters, each as a node-wide family and a per-peer one. */
const TRAFFIC: Array<{ key: keyof ConnectionStats; name: string; help: string }> = [
  { key: 'bytesIn', name: 'nessie_dist_received_bytes_total', help: 'Bytes received on distribution connections' },
  { key: 'bytesOut', name: 'nessie_dist_sent_bytes_total', help: 'Bytes sent on distribution connections' },
  { key: 'messagesIn', name: 'nessie_dist_received_messages_total', help: 'Messages received on distribution connections' },
  { key: 'messagesOut', name: 'nessie_dist_sent_messages_total', help: 'Messages sent on distribution connections' },
  { key: 'busyEvents', name: 'nessie_dist_busy_total', help: 'Sends that found a distribution connection over its busy limit' },
];

export class Metrics {
  private readonly up: Record<NodeKind, number> = { visible: 0, hidden: 0 };
  private readonly down: Record<NodeKind, number> = { visible: 0, hidden: 0 };
  private rounds = 0;
  private readonly durationBuckets = DURATION_BUCKETS.map(() => 0);
  private durationSum = 0;
  private lastRoundSeconds: number | undefined;
  private connectFailures = 0;
  private readonly lookupFailures = new Map<string, number>();

  /** `queries` start their lookup-failure series at 0, so a rate() over them works from the first scrape. */
  constructor(
    private readonly info: { version: string; node: string },
    queries: string[],
  ) {
    for (const q of queries) this.lookupFailures.set(q, 0);
  }

  nodeUp(hidden: boolean): void {
    this.up[hidden ? 'hidden' : 'visible']++;
  }

  nodeDown(hidden: boolean): void {
    this.down[hidden ? 'hidden' : 'visible']++;
  }

  discovery(event: DiscoveryEvent): void {
    this.rounds++;
    const seconds = event.durationMs / 1000;
    this.durationSum += seconds;
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.durationBuckets[i]++;
    });
    this.lastRoundSeconds = Date.now() / 1000;
    this.connectFailures += event.failed.length;
    for (const { query } of event.lookupErrors) this.lookupFailures.set(query, (this.lookupFailures.get(query) ?? 0) + 1);
  }

  render(now: MetricsSnapshot): string {
    const out: string[] = [];
    const family = (name: string, type: 'gauge' | 'counter' | 'histogram', help: string, samples: Array<[string, number]>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [series, value] of samples) out.push(`${series} ${value}`);
    };
    family('nessie_info', 'gauge', 'The running nessie-cluster: its version and node name.', [
      [`nessie_info${labels({ version: this.info.version, node: this.info.node })}`, 1],
    ]);
    family('nessie_ready', 'gauge', '1 when /readyz answers 200.', [['nessie_ready', now.ready ? 1 : 0]]);
    family('nessie_connected_nodes', 'gauge', 'Nodes connected now.', kinds((k) => [`nessie_connected_nodes${labels({ type: k })}`, now.connected[k]]));
    family('nessie_node_up_total', 'counter', 'Connections that came up (nodeup).', kinds((k) => [`nessie_node_up_total${labels({ type: k })}`, this.up[k]]));
    family('nessie_node_down_total', 'counter', 'Connections that went down (nodedown).', kinds((k) => [`nessie_node_down_total${labels({ type: k })}`, this.down[k]]));
    family('nessie_discovery_rounds_total', 'counter', 'Discovery rounds finished.', [['nessie_discovery_rounds_total', this.rounds]]);
    family('nessie_discovery_round_duration_seconds', 'histogram', 'How long discovery rounds took (lookups and connects).', [
      ...DURATION_BUCKETS.map((le, i): [string, number] => [`nessie_discovery_round_duration_seconds_bucket${labels({ le: String(le) })}`, this.durationBuckets[i]]),
      [`nessie_discovery_round_duration_seconds_bucket${labels({ le: '+Inf' })}`, this.rounds],
      ['nessie_discovery_round_duration_seconds_sum', this.durationSum],
      ['nessie_discovery_round_duration_seconds_count', this.rounds],
    ]);
    if (this.lastRoundSeconds !== undefined) {
      family('nessie_discovery_last_round_timestamp_seconds', 'gauge', 'When the last discovery round finished (Unix time).', [
        ['nessie_discovery_last_round_timestamp_seconds', this.lastRoundSeconds],
      ]);
    }
    family('nessie_dns_lookup_failures_total', 'counter', 'DNS lookups that failed, per query.',
      [...this.lookupFailures].map(([query, n]): [string, number] => [`nessie_dns_lookup_failures_total${labels({ query })}`, n]));
    family('nessie_connect_failures_total', 'counter', 'Connects to discovered nodes that failed.', [['nessie_connect_failures_total', this.connectFailures]]);
    if (now.traffic !== undefined) {
      const { total, peers } = now.traffic;
      for (const t of TRAFFIC) family(t.name, 'counter', `${t.help}, closed ones included.`, [[t.name, total[t.key]]]);
      // Per peer: the connections up now, each counted since it came up (a reconnect starts again at 0).
      for (const t of TRAFFIC) {
        const name = t.name.replace('nessie_dist_', 'nessie_dist_peer_');
        family(name, 'counter', `${t.help}, per connection up now.`,
          Object.entries(peers).map(([peer, s]): [string, number] => [`${name}${labels({ peer })}`, s[t.key]]));
      }
    }
    return `${out.join('\n')}\n`;
  }
}

function kinds(f: (k: NodeKind) => [string, number]): Array<[string, number]> {
  return (['visible', 'hidden'] as const).map(f);
}

function labels(l: Record<string, string>): string {
  // Label values escape backslash, double quote and newline.
  return `{${Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
