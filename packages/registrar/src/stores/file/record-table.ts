import type { Binding, LocationRecord } from '../../binding.js';
import type { SaveOptions, SaveResult } from '../../store.js';

/**
 * The records of the file store, in memory: the same semantics as `MemoryLocationStore`
 * (copies in and out, a version per AOR that grows on every change), plus loading a snapshot
 * with its versions kept, and a count of changes so the store knows when to write.
 */
export class RecordTable {
  readonly #records = new Map<string, LocationRecord>();
  /** Grows on every change; the store compares it with the count it last wrote. */
  changes = 0;

  get size(): number {
    return this.#records.size;
  }

  /** Puts loaded records in as they are (versions kept), replacing what was there. */
  load(records: Iterable<LocationRecord>): void {
    this.#records.clear();
    for (const record of records) this.#records.set(record.aor, record);
  }

  lookup(aor: string): LocationRecord | undefined {
    const record = this.#records.get(aor);
    return record === undefined ? undefined : structuredClone(record);
  }

  save(aor: string, bindings: readonly Binding[], options: SaveOptions): SaveResult {
    const version = this.#records.get(aor)?.version ?? 0;
    if (version !== options.expectedVersion) return { ok: false, conflict: true, version };
    this.#records.set(aor, { aor, bindings: structuredClone([...bindings]), expiresAt: options.expiresAt, version: version + 1 });
    this.changes++;
    return { ok: true, version: version + 1 };
  }

  remove(aor: string, contact?: string): number {
    const record = this.#records.get(aor);
    if (record === undefined) return 0;
    if (contact === undefined) {
      this.#records.delete(aor);
      this.changes++;
      return record.bindings.length;
    }
    const kept = record.bindings.filter((b) => b.contact !== contact);
    const removed = record.bindings.length - kept.length;
    if (removed > 0) {
      this.#records.set(aor, { ...record, bindings: kept, version: record.version + 1 });
      this.changes++;
    }
    return removed;
  }

  expire(now: number): number {
    let dropped = 0;
    for (const [aor, record] of this.#records) {
      const kept = record.bindings.filter((b) => b.expires > now);
      const gone = record.bindings.length - kept.length;
      dropped += gone;
      if (record.expiresAt <= now) {
        dropped += kept.length;
        this.#records.delete(aor);
        this.changes++;
      } else if (gone > 0) {
        this.#records.set(aor, { ...record, bindings: kept, version: record.version + 1 });
        this.changes++;
      }
    }
    return dropped;
  }

  list(): LocationRecord[] {
    return [...this.#records.values()].map((r) => structuredClone(r));
  }

  /** The records as they are now, not copied: only for serializing at once. */
  values(): IterableIterator<LocationRecord> {
    return this.#records.values();
  }

  clear(): void {
    this.#records.clear();
  }
}
