import type { Binding, LocationRecord } from './binding.js';

/** Options of {@link LocationStore.save}. */
export interface SaveOptions {
  /**
   * Optimistic concurrency: the `version` of the record the caller read, or 0 when it read none.
   * When the stored version differs the save changes nothing and reports a conflict; the
   * registrar then reads again and retries, so two REGISTERs for one AOR never lose an update.
   */
  expectedVersion: number;
  /** Keep the record (even without bindings) until this epoch ms; see {@link LocationRecord.expiresAt}. */
  expiresAt: number;
}

/** Outcome of {@link LocationStore.save}: a conflict is a value, not an error. */
export type SaveResult = { ok: true; version: number } | { ok: false; conflict: true; version: number };

/**
 * Where bindings live. Asynchronous from the start so a shared store (Redis, a database) fits
 * behind the same interface as the in-memory default; the store holds plain JSON and absolute
 * timestamps, and knows nothing about SIP: URI comparison, expiry rules and ordering are the
 * registrar's. A store never needs a clock of its own: `expire(now)` is told the time.
 *
 * Failures (connection lost) reject with a {@link LocationStoreError}; the registrar answers 503.
 *
 * @see RFC 3261 §10.3 (the location service), §10.2.1 (bindings)
 */
export interface LocationStore {
  /** The record of one AOR as stored (lapsed bindings included until `expire`), or undefined. */
  lookup(aor: string): Promise<LocationRecord | undefined>;
  /**
   * Replace the bindings of one AOR atomically, if its version is still `expectedVersion`.
   * An empty list keeps the record (no binding, but known) until `expiresAt`.
   */
  save(aor: string, bindings: readonly Binding[], options: SaveOptions): Promise<SaveResult>;
  /**
   * Remove one binding (exact `contact` string as stored) or, without `contact`, the whole record.
   * Resolves to the number of bindings removed.
   */
  remove(aor: string, contact?: string): Promise<number>;
  /** Drop bindings with `expires <= now` and records with `expiresAt <= now`; resolves to the number of bindings dropped. */
  expire(now: number): Promise<number>;
  /** Every record (lapsed bindings included until `expire`). */
  list(): Promise<LocationRecord[]>;
  /**
   * How many AORs the store holds (known ones without bindings included; lapsed ones may count
   * until `expire`). Optional: the registrar's `maxAors` cap uses it, and counts the AORs this
   * process saved when a store does not have it.
   */
  count?(): Promise<number>;
  /** Release resources; later calls reject with a closed error. Idempotent. */
  close(): Promise<void>;
}
