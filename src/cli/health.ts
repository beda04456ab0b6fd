/**
 * The status server of `nessie start --status-port`: `GET /healthz` answers 200 once
 * the first discovery round has finished (503 before), `GET /status` the membership
 * as JSON. It never shows the cookie.
 */
import { createServer, type Server } from 'node:http';
import type { DnsClusterHandle } from '../cluster/handle.js';

export interface StatusSource {
  readonly name: string;
  nodes(): string[];
}

export function startStatusServer(node: StatusSource, cluster: DnsClusterHandle, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      const hasRan = await cluster.hasRan().catch(() => false);
      if (path === '/healthz') {
        res.writeHead(hasRan ? 200 : 503, { 'content-type': 'text/plain' }).end(hasRan ? 'ok\n' : 'discovery has not run yet\n');
      } else if (path === '/status') {
        const last = cluster.lastDiscovery;
        const body = {
          name: node.name,
          nodes: node.nodes(),
          hasRan,
          lastDiscovery: last === undefined ? null : {
            found: last.found,
            connected: last.connected,
            failed: last.failed.map((f) => ({ node: f.node, error: f.error.type })),
            lookupErrors: last.lookupErrors,
            durationMs: last.durationMs,
          },
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
      } else {
        res.writeHead(404).end();
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
