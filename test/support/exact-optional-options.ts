// Type-checked by test/cluster/exact-optional-options.test.ts under
// `exactOptionalPropertyTypes`, as a strict user's project is: every optional option
// takes a value that may be undefined (an environment variable, a config field),
// meaning "not given". Never run.
import { DnsCluster, DnsQuery, defaultResolver, startSpec, Node, type NodeOptions } from '../../src/index.js';

declare const config: { port: number | undefined; interval: number | undefined; ndots: number | undefined; hidden: boolean | undefined };

export async function userCode(): Promise<void> {
  const options: NodeOptions = {
    name: 'app@127.0.0.1',
    cookie: process.env.RELEASE_COOKIE,
    listenAddress: process.env.POD_IP,
    port: config.port,
    hidden: config.hidden,
    epmd: { port: config.port },
    ticktime: undefined,
    connectTimeout: undefined,
    maxMessageSize: undefined,
    busyLimit: undefined,
    maxQueuedBytes: undefined,
    maxTermsPerMessage: undefined,
    maxFragmentBytes: undefined,
    fragmentTimeout: undefined,
    logger: undefined,
    tls: undefined,
  };
  const node = await Node.start(options);
  const resolver = defaultResolver(node, {
    servers: undefined,
    searchDomains: undefined,
    ndots: config.ndots,
    timeoutMs: undefined,
    epmdPort: config.port,
  });
  const query = DnsQuery.query(process.env.DNS_CLUSTER_QUERY ?? 'app.internal', { basename: process.env.BASENAME });
  const patterned = DnsQuery.query('app.internal', { names: undefined });
  await startSpec(
    {
      name: undefined,
      queries: [query, patterned],
      interval: config.interval,
      logger: undefined,
      resolver,
      connectTimeout: undefined,
      maxConcurrentConnects: undefined,
      prune: undefined,
      pruneAfter: undefined,
      epmdNames: undefined,
      disconnectOnStop: undefined,
    },
    node,
  );
  DnsCluster.new().withEpmdNames({ timeoutMs: config.interval, cacheMs: undefined });
}
