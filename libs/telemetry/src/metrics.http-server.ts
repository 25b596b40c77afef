import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProcessMetrics } from './process.metrics';

/**
 * GET /metrics (Prometheus text format) and GET /healthz over plain HTTP, for processes whose API is
 * not HTTP (workers speak gRPC only).
 */
export class MetricsHttpServer {
  private readonly server: Server;

  constructor(
    private readonly metrics: ProcessMetrics,
    private readonly live: () => boolean = () => true,
    /** Whether a scrape's Authorization header may read /metrics (default: anyone; /healthz is always open). */
    private readonly authorize: (authorization: string | undefined) => boolean = () => true,
  ) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        if (!this.authorize(req.headers.authorization)) {
          res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="infergraph-ops"' }).end('/metrics needs "Authorization: Bearer <OPS_TOKEN>"\n');
          return;
        }
        this.metrics.text().then(
          (body) => res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' }).end(body),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
        return;
      }
      if (req.method === 'GET' && path === '/healthz') {
        const ok = this.live();
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ live: ok }));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route ${req.method ?? ''} ${path ?? ''}: this port serves GET /metrics and GET /healthz\n`);
    });
  }

  /** Resolves with the bound port; rejects (e.g. EADDRINUSE) without taking the process down. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
