import { createServer } from 'node:net';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AdminError, AdminListenError, createMetrics, startAdminServer } from '../src/index.js';
import type { AdminServer, AdminServerOptions } from '../src/index.js';
import { sample } from './helpers.js';

async function withServer<T>(options: AdminServerOptions, run: (server: AdminServer) => Promise<T>): Promise<T> {
  const server = await startAdminServer({ port: 0, ...options });
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

/** One HTTP request with node:http (no client-side keep-alive pool), bounded to 5 s. */
function http(url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('startAdminServer', () => {
  it('serves the registry in the Prometheus text format on GET /metrics', async () => {
    const metrics = createMetrics();
    try {
      metrics.observeStore('lookup', 0.002, 'ok');
      await withServer({ metrics }, async (server) => {
        const res = await http(`${server.url}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
        expect(res.body).toContain('# TYPE sipway_sip_messages_received_total counter');
        expect(sample(res.body, 'sipway_location_store_duration_seconds_count', { operation: 'lookup', outcome: 'ok' })).toBe(1);
        // A query string does not change the path.
        expect((await http(`${server.url}/metrics?name[]=x`)).status).toBe(200);
      });
    } finally {
      metrics.dispose();
    }
  });

  it('answers /health 200 or 503 with the details as JSON', async () => {
    let healthy: boolean | { ok: boolean; details: Record<string, unknown> } = true;
    await withServer({ health: async () => healthy }, async (server) => {
      let res = await http(`${server.url}/health`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
      healthy = { ok: false, details: { store: { ok: false, error: 'connection lost' } } };
      res = await http(`${server.url}/health`);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toEqual({ status: 'fail', store: { ok: false, error: 'connection lost' } });
      healthy = false;
      expect((await http(`${server.url}/health`)).status).toBe(503);
    });
  });

  it('answers 503 when the health check rejects or does not answer in time', async () => {
    await withServer({ health: () => Promise.reject(new Error('boom')) }, async (server) => {
      const res = await http(`${server.url}/health`);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toEqual({ status: 'fail', error: 'boom' });
    });
    await withServer({ health: () => new Promise(() => undefined), timeoutMs: 50 }, async (server) => {
      const res = await http(`${server.url}/health`);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body).error).toMatch(/50 ms/);
    });
  });

  it('is healthy without a check and 404 for /metrics and /bindings it was not given', async () => {
    await withServer({}, async (server) => {
      expect((await http(`${server.url}/health`)).status).toBe(200);
      expect((await http(`${server.url}/metrics`)).status).toBe(404);
      const res = await http(`${server.url}/bindings`);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toEqual({ error: 'not found', paths: ['/health'] });
    });
  });

  it('dumps /bindings as JSON, 503 when they cannot be read', async () => {
    let fail = false;
    const records = [{ aor: 'sip:alice@example.com', bindings: [{ contact: 'sip:alice@127.0.0.1:5062' }] }];
    await withServer({ bindings: async () => (fail ? Promise.reject(new Error('store down')) : records) }, async (server) => {
      const res = await http(`${server.url}/bindings`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual(records);
      fail = true;
      const down = await http(`${server.url}/bindings`);
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toEqual({ error: 'store down' });
    });
  });

  it('answers 404 for other paths, 405 with Allow for other methods, HEAD without a body', async () => {
    await withServer({ bindings: async () => [] }, async (server) => {
      expect((await http(`${server.url}/`)).status).toBe(404);
      expect((await http(`${server.url}/metricsx`)).status).toBe(404);
      expect((await http(`${server.url}/__proto__`)).status).toBe(404);
      const post = await http(`${server.url}/health`, 'POST');
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, HEAD');
      const head = await http(`${server.url}/bindings`, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    });
  });

  it('listens on loopback by default, and on ::1 when asked', async () => {
    await withServer({}, async (server) => {
      expect(server.host).toBe('127.0.0.1');
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    });
    await withServer({ host: '::1' }, async (server) => {
      expect(server.url).toBe(`http://[::1]:${server.port}`);
      expect((await http(`${server.url}/health`)).status).toBe(200);
    });
  });

  it('rejects with AdminListenError when the port is taken, and refuses a host name', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await startAdminServer({ port }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(AdminListenError.isInstance(error)).toBe(true);
      expect((error as AdminError).code).toBe('ADMIN_LISTEN_FAILED');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    await expect(startAdminServer({ host: 'localhost', port: 0 })).rejects.toMatchObject({ code: 'ADMIN_INVALID_OPTIONS' });
    await expect(startAdminServer({ port: 70000 })).rejects.toMatchObject({ code: 'ADMIN_INVALID_OPTIONS' });
  });

  it('closes idempotently, also with a keep-alive connection open, and stops answering', async () => {
    const server = await startAdminServer({ port: 0 });
    // fetch keeps its connection alive; close must not wait for it.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    await expect(http(`${server.url}/health`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
