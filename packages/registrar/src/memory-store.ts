import type { Binding, LocationRecord } from './binding.js';
import { RegistrarClosedError } from './errors.js';
import type { LocationStore, SaveOptions, SaveResult } from './store.js';

/**
 * The default {@link LocationStore}: a Map in this process. Records are copied in and out
 * (structuredClone), so a caller mutating what it got cannot change the store — the same
 * behaviour a store that serializes to JSON has.
 */
export class MemoryLocationStore implements LocationStore {
  readonly #records = new Map<string, LocationRecord>();
  #closed = false;

  /** Number of AORs held (known ones without bindings included). */
  get size(): number {
    return this.#records.size;
  }

  lookup(aor: string): Promise<LocationRecord | undefined> {
    if (this.#closed) return closed();
    const record = this.#records.get(aor);
    return Promise.resolve(record === undefined ? undefined : structuredClone(record));
  }

  save(aor: string, bindings: readonly Binding[], options: SaveOptions): Promise<SaveResult> {
    if (this.#closed) return closed();
    const current = this.#records.get(aor);
    const version = current?.version ?? 0;
    if (version !== options.expectedVersion) return Promise.resolve({ ok: false, conflict: true, version });
    const next: LocationRecord = { aor, bindings: structuredClone([...bindings]), expiresAt: options.expiresAt, version: version + 1 };
    this.#records.set(aor, next);
    return Promise.resolve({ ok: true, version: next.version });
  }

  remove(aor: string, contact?: string): Promise<number> {
    if (this.#closed) return closed();
    const record = this.#records.get(aor);
    if (record === undefined) return Promise.resolve(0);
    if (contact === undefined) {
      this.#records.delete(aor);
      return Promise.resolve(record.bindings.length);
    }
    const kept = record.bindings.filter((b) => b.contact !== contact);
    const removed = record.bindings.length - kept.length;
    if (removed > 0) this.#records.set(aor, { ...record, bindings: kept, version: record.version + 1 });
    return Promise.resolve(removed);
  }

  expire(now: number): Promise<number> {
    if (this.#closed) return closed();
    let dropped = 0;
    for (const [aor, record] of this.#records) {
      const kept = record.bindings.filter((b) => b.expires > now);
      const gone = record.bindings.length - kept.length;
      dropped += gone;
      if (record.expiresAt <= now) {
        dropped += kept.length;
        this.#records.delete(aor);
      } else if (gone > 0) this.#records.set(aor, { ...record, bindings: kept, version: record.version + 1 });
    }
    return Promise.resolve(dropped);
  }

  count(): Promise<number> {
    if (this.#closed) return closed();
    return Promise.resolve(this.#records.size);
  }

  list(): Promise<LocationRecord[]> {
    if (this.#closed) return closed();
    return Promise.resolve([...this.#records.values()].map((r) => structuredClone(r)));
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#records.clear();
    return Promise.resolve();
  }
}

function closed(): Promise<never> {
  return Promise.reject(new RegistrarClosedError('location store'));
}
