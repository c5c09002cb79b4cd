import type { Binding, LocationRecord, LocationStore, SaveOptions, SaveResult } from '@sipway/registrar';
import type { StoreOutcome, SipwayMetrics } from './metrics.js';

/** What {@link instrumentStore} needs of the metrics. */
export type StoreObserver = Pick<SipwayMetrics, 'observeStore'>;

/**
 * A {@link LocationStore} that times every call of `inner` into
 * `sipway_location_store_duration_seconds{operation,outcome}` and otherwise behaves exactly like
 * it: same results, same rejections. Give it to the Registrar in place of the store.
 */
export class InstrumentedLocationStore implements LocationStore {
  /** The store being timed. */
  readonly inner: LocationStore;
  readonly #metrics: StoreObserver;

  constructor(inner: LocationStore, metrics: StoreObserver) {
    this.inner = inner;
    this.#metrics = metrics;
  }

  lookup(aor: string): Promise<LocationRecord | undefined> {
    return this.#time('lookup', () => this.inner.lookup(aor));
  }

  save(aor: string, bindings: readonly Binding[], options: SaveOptions): Promise<SaveResult> {
    return this.#time('save', () => this.inner.save(aor, bindings, options), (r) => (r.ok ? 'ok' : 'conflict'));
  }

  remove(aor: string, contact?: string): Promise<number> {
    return this.#time('remove', () => (contact === undefined ? this.inner.remove(aor) : this.inner.remove(aor, contact)));
  }

  expire(now: number): Promise<number> {
    return this.#time('expire', () => this.inner.expire(now));
  }

  list(): Promise<LocationRecord[]> {
    return this.#time('list', () => this.inner.list());
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #time<T>(operation: string, call: () => Promise<T>, outcomeOf?: (result: T) => StoreOutcome): Promise<T> {
    const start = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
    try {
      const result = await call();
      this.#metrics.observeStore(operation, seconds(), outcomeOf === undefined ? 'ok' : outcomeOf(result));
      return result;
    } catch (error) {
      this.#metrics.observeStore(operation, seconds(), 'error');
      throw error;
    }
  }
}

/**
 * Wraps a location store so each call is timed into the metrics' store-latency histogram.
 *
 * @example
 * const metrics = createMetrics();
 * const registrar = new Registrar({ dispatcher, domains: ['example.com'], store: instrumentStore(new MemoryLocationStore(), metrics) });
 */
export function instrumentStore(store: LocationStore, metrics: StoreObserver): InstrumentedLocationStore {
  return new InstrumentedLocationStore(store, metrics);
}
