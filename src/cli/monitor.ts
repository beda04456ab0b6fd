/**
 * What `nessie start`'s status server reports: the phase (starting, running,
 * stopping), readiness by the configured rule, the membership and the last
 * discovery round with its failure reasons, and the metrics. It listens to the
 * node's and the cluster's events from `attach` on.
 */
import type { DiscoveryEvent, DnsClusterHandle } from '../cluster/handle.js';
import type { ConnectError } from '../cluster/resolver.js';
import { NessieError } from '../errors.js';
import type { Node } from '../node/node.js';
import type { StatusSource } from './health.js';
import { Metrics } from './metrics.js';
import { readiness, type Readiness, type ReadinessRule } from './readiness.js';

export class StartMonitor implements StatusSource {
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  private node: Node | undefined;
  private cluster: DnsClusterHandle | undefined;
  private lastRoundAt: Date | undefined;
  private readonly started = Date.now();
  private readonly metricsStore: Metrics;

  constructor(
    private readonly rule: ReadinessRule,
    private readonly info: { version: string; name: string; queries: string[] },
  ) {
    this.metricsStore = new Metrics({ version: info.version, node: info.name }, info.queries);
  }

  /** The node and its cluster have started: count their events from now on. */
  attach(node: Node, cluster: DnsClusterHandle): void {
    this.node = node;
    this.cluster = cluster;
    node.on('nodeup', (_name, { hidden }) => this.metricsStore.nodeUp(hidden));
    node.on('nodedown', (_name, _reason, { hidden }) => this.metricsStore.nodeDown(hidden));
    cluster.on('discovery', (event: DiscoveryEvent) => {
      this.lastRoundAt = new Date();
      this.metricsStore.discovery(event);
    });
    this.phase = 'running';
  }

  /** Shutting down: /readyz answers 503 from now on, so traffic moves away first. */
  stopping(): void {
    this.phase = 'stopping';
  }

  async readiness(): Promise<Readiness> {
    const cluster = this.cluster;
    const ran = cluster === undefined || this.phase !== 'running' ? false : await cluster.hasRan().catch(() => false);
    return readiness(this.rule, {
      phase: this.phase,
      ignoring: cluster?.ignoring ?? false,
      ran,
      peers: this.node?.nodes('connected').length ?? 0,
      lookupErrors: cluster?.lastDiscovery?.lookupErrors ?? [],
    });
  }

  async status(): Promise<unknown> {
    const r = await this.readiness();
    const last = this.cluster?.lastDiscovery;
    return {
      name: this.info.name,
      version: this.info.version,
      phase: this.phase,
      ready: r.ready,
      readyReason: r.reason,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      nodes: this.node?.nodes('visible') ?? [],
      hiddenNodes: this.node?.nodes('hidden') ?? [],
      queries: this.info.queries,
      hasRan: this.cluster === undefined || this.phase !== 'running' ? false : await this.cluster.hasRan().catch(() => false),
      lastDiscovery: last === undefined ? null : {
        finishedAt: this.lastRoundAt?.toISOString() ?? null,
        durationMs: last.durationMs,
        found: last.found,
        connected: last.connected,
        failed: last.failed.map((f) => ({ node: f.node, error: f.error.type, ...failureReason(f.error) })),
        lookupErrors: last.lookupErrors,
      },
    };
  }

  async metrics(): Promise<string> {
    const r = await this.readiness();
    return this.metricsStore.render({
      connected: { visible: this.node?.nodes('visible').length ?? 0, hidden: this.node?.nodes('hidden').length ?? 0 },
      ready: r.ready,
      traffic: this.node?.stats(),
    });
  }
}

/** Why a connect failed, for people: the reason's message and, for our errors, its stable code. */
function failureReason(e: ConnectError): { reason: string; code?: string } {
  if (e.type === 'LocalNodeIsNotAlive') return { reason: 'the local node is not alive' };
  const r = e.reason;
  if (r === undefined) return { reason: 'failed to connect' };
  if (typeof r === 'string') return { reason: r };
  return r instanceof NessieError ? { reason: r.message, code: r.code } : { reason: String((r as Error).message ?? r) };
}
