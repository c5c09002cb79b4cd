import { isIP } from 'node:net';
import type { LocationRecord, LocationStore } from '@sipway/registrar';
import { AdminOptionsError } from './errors.js';
import { createHealthCheck } from './health.js';
import type { HealthCheck, HealthLeg } from './health.js';
import { createMetrics } from './metrics.js';
import type { SipwayMetrics } from './metrics.js';
import { startAdminServer } from './server.js';
import type { AdminServer } from './server.js';

/** What the admin wiring needs of a registrar (an `@sipway/registrar` Registrar fits). */
export interface AdminRegistrar {
  readonly store: Pick<LocationStore, 'lookup'>;
  list(): Promise<LocationRecord[]>;
}

/** Options of {@link startAdmin}. */
export interface AdminOptions {
  /** `127.0.0.1:9060`, `[::1]:9060`, `:9060` (loopback) or `{ host, port }`. Default `127.0.0.1:9060`. */
  listen?: string | { host?: string; port?: number } | undefined;
  /** The legs `/health` requires listening: a list, or `() => dispatcher.legs`. */
  legs?: (Iterable<HealthLeg> | (() => Iterable<HealthLeg>)) | undefined;
  /** Its bindings feed the gauge and `/bindings`; its store is probed by `/health`. */
  registrar?: AdminRegistrar | undefined;
  /** Probed by `/health` (default: the registrar's store). */
  store?: Pick<LocationStore, 'lookup'> | undefined;
  /** Metrics to serve; default: created here with `createMetrics({ defaultMetrics })` and disposed on close. */
  metrics?: SipwayMetrics | undefined;
  /** With metrics created here: add prom-client's process metrics. Default true. */
  defaultMetrics?: boolean | undefined;
  /** Replaces the built-in health check. */
  health?: HealthCheck | undefined;
  /** Milliseconds a health probe or bindings dump may take (default 1000 for the store probe, 2000 for the HTTP answer). */
  timeoutMs?: number | undefined;
}

/** A running admin listener with its metrics. */
export interface Admin {
  readonly metrics: SipwayMetrics;
  readonly server: AdminServer;
  /** `http://127.0.0.1:9060`. */
  readonly url: string;
  /** Closes the listener and disposes metrics created here. Idempotent. */
  close(): Promise<void>;
}

/**
 * Parses an admin address: `127.0.0.1:9060`, `[::1]:9060`, `:9060` or `9060` (both loopback).
 * Throws {@link AdminOptionsError} for anything else: the admin listener binds an IP literal.
 */
export function parseAdminAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[0-9.]+)?:)?(\d{1,5})$/.exec(text.trim());
  const port = m === null ? Number.NaN : Number(m[2]);
  const host = m?.[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  if (m === null || port > 65535 || isIP(host) === 0 || (m[1]?.startsWith('[') === true) !== (isIP(host) === 6)) {
    throw new AdminOptionsError(`admin address "${text}": expected host:port with an IP address (IPv6 as [::1]:port)`);
  }
  return { host, port };
}

/** Sum of live bindings over a registrar's records. */
export async function countBindings(registrar: Pick<AdminRegistrar, 'list'>): Promise<number> {
  let n = 0;
  for (const record of await registrar.list()) n += record.bindings.length;
  return n;
}

/**
 * Everything in one call: metrics (unless given), the bindings gauge and `/bindings` from the
 * registrar, `/health` over the legs and the store, and the HTTP listener.
 *
 * @example
 * const admin = await startAdmin({ listen: '127.0.0.1:9060', legs: () => dispatcher.legs, registrar });
 * // … later
 * await admin.close();
 */
export async function startAdmin(options: AdminOptions = {}): Promise<Admin> {
  const address = typeof options.listen === 'string' ? parseAdminAddress(options.listen) : (options.listen ?? {});
  const owned = options.metrics === undefined;
  const metrics = options.metrics ?? createMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const registrar = options.registrar;
  try {
    if (registrar !== undefined) metrics.setBindingsCounter(() => countBindings(registrar));
    const store = options.store ?? registrar?.store;
    const health =
      options.health ??
      createHealthCheck({
        ...(options.legs === undefined ? {} : { legs: options.legs }),
        ...(store === undefined ? {} : { store }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    const server = await startAdminServer({
      ...address,
      metrics,
      health,
      ...(registrar === undefined ? {} : { bindings: () => registrar.list() }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: Math.max(options.timeoutMs * 2, 1) }),
    });
    let closing: Promise<void> | undefined;
    return {
      metrics,
      server,
      url: server.url,
      close() {
        closing ??= server.close().finally(() => {
          if (owned) metrics.dispose();
        });
        return closing;
      },
    };
  } catch (error) {
    if (owned) metrics.dispose();
    throw error;
  }
}
