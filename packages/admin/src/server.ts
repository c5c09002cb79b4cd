import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { AdminListenError, AdminOptionsError } from './errors.js';
import type { HealthCheck, HealthReport } from './health.js';

/** What the server needs of the metrics: a prom-client registry (or {@link SipwayMetrics}). */
export interface MetricsSource {
  readonly registry: { metrics(): Promise<string>; readonly contentType: string };
}

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  /** IP address to listen on. Default `127.0.0.1`: the admin listener is for the local scraper only. */
  host?: string | undefined;
  /** TCP port (0 = ephemeral). Default 9060. */
  port?: number | undefined;
  /** Served as `GET /metrics`; without it `/metrics` is 404. */
  metrics?: MetricsSource | undefined;
  /** Answers `GET /health`; without it `/health` is always 200. */
  health?: HealthCheck | undefined;
  /** Answers `GET /bindings` with JSON; without it `/bindings` is 404. */
  bindings?: (() => Promise<unknown>) | undefined;
  /** Milliseconds `/health` and `/bindings` wait before answering 503 (default 2000). */
  timeoutMs?: number | undefined;
}

/** A running admin listener. */
export interface AdminServer {
  /** Bound address (IPv6 without brackets). */
  readonly host: string;
  /** Bound port (the real one when 0 was asked). */
  readonly port: number;
  /** `http://127.0.0.1:9060`. */
  readonly url: string;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  send(res, status, JSON_TYPE, `${JSON.stringify(value, null, 2)}\n`, head);
}

function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Starts the admin HTTP listener:
 * - `GET /metrics` — Prometheus text format;
 * - `GET /health` — 200 `{"status":"ok",…details}` when the check passes, else 503 `{"status":"fail",…}`;
 * - `GET /bindings` — the current bindings as JSON (503 when they cannot be read);
 * - anything else 404, other methods on these paths 405. HEAD is answered like GET without a body.
 *
 * Rejects with {@link AdminListenError} when the address cannot be bound.
 */
export async function startAdminServer(options: AdminServerOptions = {}): Promise<AdminServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 9060;
  const timeoutMs = options.timeoutMs ?? 2000;
  if (isIP(host) === 0) throw new AdminOptionsError(`host must be an IP address (got "${host}")`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AdminOptionsError(`port must be 0..65535 (got ${String(port)})`);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new AdminOptionsError('timeoutMs must be a positive number');
  const { metrics, health, bindings } = options;

  const routes: Record<string, ((res: ServerResponse, head: boolean) => Promise<void>) | undefined> = {
    '/metrics':
      metrics === undefined
        ? undefined
        : async (res, head) => {
            try {
              send(res, 200, metrics.registry.contentType, await metrics.registry.metrics(), head);
            } catch (error) {
              send(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${messageOf(error)}\n`, head);
            }
          },
    '/health': async (res, head) => {
      let report: HealthReport;
      try {
        const result = health === undefined ? true : await bounded(health(), timeoutMs);
        report = typeof result === 'boolean' ? { ok: result } : result;
      } catch (error) {
        report = { ok: false, details: { error: messageOf(error) } };
      }
      sendJson(res, report.ok ? 200 : 503, { ...report.details, status: report.ok ? 'ok' : 'fail' }, head);
    },
    '/bindings':
      bindings === undefined
        ? undefined
        : async (res, head) => {
            try {
              sendJson(res, 200, await bounded(bindings(), timeoutMs), head);
            } catch (error) {
              sendJson(res, 503, { error: messageOf(error) }, head);
            }
          },
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) {
      sendJson(res, 404, { error: 'not found', paths: Object.keys(routes).filter((p) => routes[p] !== undefined) }, req.method === 'HEAD');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: 'method not allowed' }, false);
      return;
    }
    route(res, req.method === 'HEAD').catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: messageOf(error) }, false);
      else res.destroy();
    });
  };

  const server: Server = createServer(handle);
  // Scrapers keep connections alive; a slow client must not hold the listener forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(new AdminListenError(`admin listener cannot bind ${host}:${port}: ${error.message}`, error));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
