import { readFile, rename } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Binding, LocationRecord } from '../../binding.js';
import { LocationStoreError, RegistrarClosedError, RegistrarOptionsError } from '../../errors.js';
import type { RegistrarLogger } from '../../registrar.js';
import type { LocationStore, SaveOptions, SaveResult } from '../../store.js';
import { writeFileAtomic } from './atomic-write.js';
import { RecordTable } from './record-table.js';
import { SnapshotFormatError, decodeSnapshot, encodeSnapshotChunks } from './snapshot.js';
import { LocationSnapshotError } from './snapshot-error.js';

/** Options of {@link FileLocationStore}. */
export interface FileLocationStoreOptions {
  /** The snapshot file. Its directory must exist and be writable; the file is created on open. */
  path: string;
  /**
   * Milliseconds between the first unsaved change and the snapshot that contains it. This is
   * the worst-case loss window of a crash (plus the time of one write); `close()` always
   * writes. 0 writes as soon as the previous write is done. Default 1000.
   */
  flushIntervalMs?: number | undefined;
  /**
   * What `open()` does with a snapshot it cannot parse: `'fail'` (default) rejects with a
   * {@link LocationSnapshotError}; `'move-aside'` renames it to `PATH.corrupt-<epoch ms>`,
   * logs a warning and starts empty (for unattended restarts that prefer service over bindings).
   */
  ifCorrupt?: 'fail' | 'move-aside' | undefined;
  /** Epoch ms, used only on load to drop what lapsed while the store was down. Default `Date.now`. */
  clock?: (() => number) | undefined;
  /** Failed background writes are logged at `error`, a moved-aside snapshot at `warn`. */
  logger?: RegistrarLogger | undefined;
}

const DEFAULT_FLUSH_MS = 1000;
const MAX_FLUSH_MS = 3_600_000;

/**
 * A {@link LocationStore} that keeps the bindings in memory and writes them to one JSON file,
 * so a registrar keeps its bindings across a restart (Net::SIP's `--rdump`, without its loss
 * window on shutdown).
 *
 * - Every change is in memory at once (same semantics and versions as the memory store); a
 *   snapshot of all records is written `flushIntervalMs` after the first unsaved change, so a
 *   burst of REGISTERs costs one write. Writes are atomic (temporary file, fsync, rename,
 *   directory fsync): a crash leaves the previous or the next snapshot, never a torn file.
 * - `open()` restores the snapshot, dropping bindings and records that lapsed meanwhile. A
 *   file that cannot be read or parsed is a start-up error (see `ifCorrupt`), not an empty
 *   store; a missing file is a first start.
 * - `close()` writes a last snapshot. A crash (kill -9, power loss) loses at most the changes
 *   of the last `flushIntervalMs` plus one write.
 * - One process per file: two stores on one file overwrite each other's snapshots. To share
 *   bindings between processes use the Redis store.
 *
 * ```ts
 * const store = await FileLocationStore.open('file:/var/lib/sipway/bindings.json');
 * const registrar = new Registrar({ dispatcher, domains: ['example.com'], store });
 * ```
 *
 * @see RFC 3261 §10.3 (the location service)
 */
export class FileLocationStore implements LocationStore {
  /** Absolute path of the snapshot file. */
  readonly path: string;
  readonly #interval: number;
  readonly #ifCorrupt: 'fail' | 'move-aside';
  readonly #clock: () => number;
  readonly #logger: RegistrarLogger | undefined;
  readonly #table = new RecordTable();
  #opening: Promise<void> | undefined;
  #opened = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Real time (ms) of the first change not yet in a snapshot being written; undefined when clean. */
  #dirtySince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #lastWriteError: unknown;

  /** Builds the store from options or a `file:PATH` URL; call {@link open} before use. */
  constructor(options: FileLocationStoreOptions | string) {
    const o = typeof options === 'string' ? parseFileStoreUrl(options) : options;
    if (o === null || typeof o !== 'object' || typeof o.path !== 'string' || o.path === '') {
      throw new RegistrarOptionsError('FileLocationStore needs a path');
    }
    const interval = o.flushIntervalMs ?? DEFAULT_FLUSH_MS;
    if (!Number.isInteger(interval) || interval < 0 || interval > MAX_FLUSH_MS) {
      throw new RegistrarOptionsError(`flushIntervalMs must be an integer 0..${MAX_FLUSH_MS} (got ${String(interval)})`);
    }
    const ifCorrupt = o.ifCorrupt ?? 'fail';
    if (ifCorrupt !== 'fail' && ifCorrupt !== 'move-aside') throw new RegistrarOptionsError(`ifCorrupt must be 'fail' or 'move-aside' (got ${String(ifCorrupt)})`);
    this.path = resolve(o.path);
    this.#interval = interval;
    this.#ifCorrupt = ifCorrupt;
    this.#clock = o.clock ?? Date.now;
    this.#logger = o.logger;
  }

  /** Builds the store and waits for {@link open}: the usual way to start one. */
  static async open(options: FileLocationStoreOptions | string): Promise<FileLocationStore> {
    const store = new FileLocationStore(options);
    await store.open();
    return store;
  }

  /**
   * Restores the snapshot (a missing file is an empty store) and writes a fresh one at once, so
   * an unwritable directory is found now and not at the first REGISTER. Rejects with a
   * {@link LocationSnapshotError} (`unreadable`, `corrupt` or `unwritable`). Idempotent.
   */
  open(): Promise<void> {
    if (this.#closed) return Promise.reject(new RegistrarClosedError('location store'));
    this.#opening ??= this.#load();
    return this.#opening;
  }

  /** Number of AORs held (known ones without bindings included). */
  get size(): number {
    return this.#table.size;
  }

  /** The error of the last snapshot write if it failed (writes are retried every interval), else undefined. */
  get lastWriteError(): unknown {
    return this.#lastWriteError;
  }

  lookup(aor: string): Promise<LocationRecord | undefined> {
    return this.#use(() => this.#table.lookup(aor));
  }

  save(aor: string, bindings: readonly Binding[], options: SaveOptions): Promise<SaveResult> {
    return this.#use(() => this.#changing(() => this.#table.save(aor, bindings, options)));
  }

  remove(aor: string, contact?: string): Promise<number> {
    return this.#use(() => this.#changing(() => this.#table.remove(aor, contact)));
  }

  expire(now: number): Promise<number> {
    return this.#use(() => this.#changing(() => this.#table.expire(now)));
  }

  list(): Promise<LocationRecord[]> {
    return this.#use(() => this.#table.list());
  }

  count(): Promise<number> {
    return this.#use(() => this.#table.size);
  }

  /**
   * Writes a snapshot now if anything changed since the last one, and resolves when it is on
   * disk. Rejects with a {@link LocationSnapshotError} (`unwritable`) when the write fails.
   */
  async flush(): Promise<void> {
    if (!this.#opened) return;
    while (this.#writing !== undefined) await this.#writing.catch(() => undefined);
    if (this.#dirtySince === undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#write();
  }

  /**
   * Writes the last snapshot and releases the store; later calls reject with a closed error.
   * Rejects (once) when that last write fails: the changes since the previous snapshot are lost.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    try {
      await this.flush();
    } finally {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#opened = false;
      this.#table.clear();
    }
  }

  async #load(): Promise<void> {
    let text: string | undefined;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new LocationSnapshotError(this.path, 'unreadable', (error as Error).message, error);
      }
    }
    if (text !== undefined) {
      try {
        const { records } = decodeSnapshot(text, this.#clock());
        this.#table.load(records);
      } catch (error) {
        if (!(error instanceof SnapshotFormatError)) throw error;
        if (this.#ifCorrupt === 'fail') {
          throw new LocationSnapshotError(this.path, 'corrupt', `${error.message}; move it away to start with no bindings, or set ifCorrupt: 'move-aside'`, error);
        }
        const aside = `${this.path}.corrupt-${Date.now()}`;
        try {
          await rename(this.path, aside);
        } catch (renameError) {
          throw new LocationSnapshotError(this.path, 'corrupt', `${error.message}; moving it to ${aside} failed: ${(renameError as Error).message}`, renameError);
        }
        this.#logger?.warn?.({ path: this.path, movedTo: aside, reason: error.message }, 'location snapshot was corrupt; moved aside, starting with no bindings');
      }
    }
    this.#opened = true;
    // Write at once: proves the directory is writable and drops what lapsed from the file too.
    this.#dirtySince = Date.now();
    try {
      await this.#write();
    } catch (error) {
      this.#opened = false;
      this.#table.clear();
      throw error;
    }
  }

  async #use<T>(operation: () => T): Promise<T> {
    if (this.#closed) throw new RegistrarClosedError('location store');
    if (!this.#opened) throw new LocationStoreError(`file location store ${this.path} is not open: call open() first`);
    return operation();
  }

  #changing<T>(operation: () => T): T {
    const before = this.#table.changes;
    const result = operation();
    if (this.#table.changes !== before) {
      this.#dirtySince ??= Date.now();
      this.#arm();
    }
    return result;
  }

  /** Schedules the next write for `flushIntervalMs` after the oldest unsaved change. */
  #arm(): void {
    if (this.#closed || this.#timer !== undefined || this.#writing !== undefined || this.#dirtySince === undefined) return;
    const delay = Math.max(0, this.#dirtySince + this.#interval - Date.now());
    // Not unref'd: a pending snapshot keeps the process alive until it is on disk.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write().catch(() => undefined);
    }, delay);
  }

  /**
   * Writes the records, serialized chunk by chunk between writes so the event loop keeps running
   * (each record as it is when reached; later changes mark the store dirty again); one write at a time.
   */
  #write(): Promise<void> {
    const chunks = encodeSnapshotChunks(this.#table.values(), Date.now());
    this.#dirtySince = undefined;
    const written = writeFileAtomic(this.path, chunks).then(
      () => {
        this.#lastWriteError = undefined;
      },
      (error: unknown) => {
        this.#lastWriteError = error;
        // Keep the changes pending: the next interval tries again.
        this.#dirtySince ??= Date.now();
        this.#logger?.error?.({ path: this.path, error: String(error) }, 'could not write the location snapshot');
        throw new LocationSnapshotError(this.path, 'unwritable', (error as Error).message, error);
      },
    );
    const writing = written.finally(() => {
      this.#writing = undefined;
      this.#arm();
    });
    this.#writing = writing;
    return writing;
  }
}

/**
 * Reads `file:PATH` (relative or absolute, taken literally) or `file:///absolute/path` (percent-decoded), with optional query
 * parameters `flushIntervalMs` and `ifCorrupt`: `file:/var/lib/sipway/bindings.json?flushIntervalMs=500`.
 */
export function parseFileStoreUrl(url: string): FileLocationStoreOptions {
  if (typeof url !== 'string' || !url.startsWith('file:')) throw new RegistrarOptionsError(`a file store URL starts with file: (got ${String(url)})`);
  const query = url.indexOf('?');
  const location = query === -1 ? url : url.slice(0, query);
  const path = location.startsWith('file://') ? fileURLToPath(location) : location.slice('file:'.length);
  if (path === '') throw new RegistrarOptionsError(`file store URL ${url} has no path`);
  const options: FileLocationStoreOptions = { path };
  for (const [key, value] of new URLSearchParams(query === -1 ? '' : url.slice(query + 1))) {
    if (key === 'flushIntervalMs') options.flushIntervalMs = value.trim() === '' ? Number.NaN : Number(value);
    else if (key === 'ifCorrupt') options.ifCorrupt = value as 'fail' | 'move-aside';
    else throw new RegistrarOptionsError(`unknown file store URL parameter ${key} (known: flushIntervalMs, ifCorrupt)`);
  }
  return options;
}
