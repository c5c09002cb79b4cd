import type { LocationStore } from '@sipway/registrar';
import { AdminOptionsError } from './errors.js';
import { legLabel } from './labels.js';

/** What a health check found: `ok`, and details shown as JSON on `/health`. */
export interface HealthReport {
  ok: boolean;
  details?: Record<string, unknown>;
}

/** Answers `/health`: a boolean or a {@link HealthReport}. A rejection counts as not healthy. */
export type HealthCheck = () => Promise<boolean | HealthReport>;

/** The part of a leg the health check reads. */
export type HealthLeg = { readonly state: string; readonly transport: string; readonly address: string; readonly port: number };

/** Options of {@link createHealthCheck}. */
export interface HealthCheckOptions {
  /** Legs that must be `listening`: a list, or a function giving the current list (`() => dispatcher.legs`). */
  legs?: (Iterable<HealthLeg> | (() => Iterable<HealthLeg>)) | undefined;
  /** A location store that must answer a lookup. */
  store?: Pick<LocationStore, 'lookup'> | undefined;
  /** Milliseconds the store may take before it counts as down (default 1000). */
  timeoutMs?: number | undefined;
  /** The AOR looked up to probe the store (default `sip:health-check@sipway.invalid`, RFC 6761 `.invalid`). */
  probeAor?: string | undefined;
}

/**
 * Builds the usual health check: every leg listening and the store answering a lookup in time.
 * Details name each leg with its state and the store's latency or error.
 */
export function createHealthCheck(options: HealthCheckOptions = {}): HealthCheck {
  const timeoutMs = options.timeoutMs ?? 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new AdminOptionsError('timeoutMs must be a positive number');
  if (options.store !== undefined && typeof options.store.lookup !== 'function') throw new AdminOptionsError('store must have lookup()');
  const probe = options.probeAor ?? 'sip:health-check@sipway.invalid';
  const legsOf = typeof options.legs === 'function' ? options.legs : () => (options.legs as Iterable<HealthLeg> | undefined) ?? [];
  return async () => {
    let ok = true;
    const details: Record<string, unknown> = {};
    if (options.legs !== undefined) {
      const legs: Record<string, string> = {};
      let count = 0;
      for (const leg of legsOf()) {
        legs[legLabel(leg)] = leg.state;
        if (leg.state !== 'listening') ok = false;
        count++;
      }
      if (count === 0) ok = false;
      details.legs = legs;
    }
    if (options.store !== undefined) {
      const store = await probeStore(options.store, probe, timeoutMs);
      if (!store.ok) ok = false;
      details.store = store;
    }
    return { ok, details };
  };
}

async function probeStore(store: Pick<LocationStore, 'lookup'>, aor: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.lookup(aor),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]);
    return { ok: true, ms: Math.round((performance.now() - start) * 1000) / 1000 };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
