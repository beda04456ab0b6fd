/**
 * The status server of `nessie start --status-port`, for probes and scrapers:
 *   /livez    200 while the process serves requests (a liveness probe)
 *   /readyz   200 when ready, else 503; the body says why (a readiness probe)
 *   /healthz  the same as /readyz (the name earlier versions served)
 *   /status   the membership, the last discovery round and its failures, as JSON
 *   /metrics  Prometheus text format
 * GET and HEAD only. It never shows the cookie. A failing handler answers 500 and
 * leaves the server running.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Readiness } from './readiness.js';

export interface StatusSource {
  readiness(): Promise<Readiness>;
  status(): Promise<unknown>;
  metrics(): Promise<string>;
}

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';

/** Listens on host:port; rejects with the listen error (EADDRINUSE...) for the caller to explain. */
export function startStatusServer(source: StatusSource, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    handle(source, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, TEXT, `status server error: ${(err as Error)?.message ?? String(err)}\n`);
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stops listening and closes idle and open keep-alive connections, so the process can exit. */
export function stopStatusServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function handle(source: StatusSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, TEXT, 'only GET and HEAD\n');
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/livez':
      send(res, 200, TEXT, 'ok\n');
      return;
    case '/readyz':
    case '/healthz': {
      const r = await source.readiness();
      send(res, r.ready ? 200 : 503, TEXT, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
      return;
    }
    case '/status':
      send(res, 200, 'application/json', `${JSON.stringify(await source.status(), null, 2)}\n`);
      return;
    case '/metrics':
      send(res, 200, PROMETHEUS_TEXT, await source.metrics());
      return;
    default:
      send(res, 404, TEXT, 'not found: try /livez, /readyz, /status or /metrics\n');
  }
}

// For HEAD, node's http writes the headers (content-length included) and drops the body.
function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
}
