import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Binding, LocationRecord } from '../../binding.js';
import { LocationStoreError, RegistrarClosedError, RegistrarOptionsError } from '../../errors.js';
import type { RegistrarLogger } from '../../registrar.js';
import type { LocationStore, SaveOptions, SaveResult } from '../../store.js';
import { EXPIRE, REMOVE_BINDING, REMOVE_RECORD, SAVE } from './scripts.js';
import type { Script } from './scripts.js';

/** Options of {@link RedisLocationStore}. Give `url` or `client`. */
export interface RedisLocationStoreOptions {
  /**
   * `redis://[user:password@]host:port/db` (`rediss://` for TLS). A `prefix` query parameter
   * sets {@link prefix}: `redis://127.0.0.1:6379/0?prefix=site-a:`.
   */
  url?: string | undefined;
  /**
   * An ioredis client to use instead of `url`; the store does not close it. Operations still
   * fail fast while it is not ready, but its own options (offline queue, retries) are kept: set
   * `enableOfflineQueue: false` on it for the fail-fast behaviour described in the README.
   */
  client?: Redis | undefined;
  /**
   * Prefix of every key, so several domains or proxy groups share one Redis without seeing each
   * other's bindings. Stores with the same prefix share bindings. Default `sipway:location:`.
   */
  prefix?: string | undefined;
  /** Milliseconds to establish a connection (first one and each reconnection). Default 2000. */
  connectTimeoutMs?: number | undefined;
  /** Milliseconds one command may take before it fails with a LocationStoreError. Default 1000. */
  commandTimeoutMs?: number | undefined;
  /** Connection loss and recovery are logged (once each) at `warn`. */
  logger?: RegistrarLogger | undefined;
}

const DEFAULT_PREFIX = 'sipway:location:';
const EXPIRE_BATCH = 256;
const SCAN_COUNT = 500;
// Bounds the loops of expire() and list(): far above any real deployment's size.
const MAX_ROUNDS = 100_000;

/**
 * A {@link LocationStore} in Redis, shared by every proxy and registrar that uses the same
 * Redis and prefix: a binding registered through one is found by the others at once.
 *
 * - One hash per AOR; each REGISTER is saved by one Lua script that checks the version,
 *   rewrites the bindings and sets the key's TTL to the record's end (`expiresAt`, never
 *   before the last binding lapses), so keys go away by themselves even if no registrar sweeps.
 *   Works on Redis 7.0 (no per-field hash expiry needed).
 * - `expire(now)` only visits AORs whose next expiry is due (a sorted set), `list()` uses SCAN.
 * - Connection loss: every call rejects at once with a {@link LocationStoreError} (the
 *   registrar answers 503 with Retry-After; a proxy's lookup fails fast), errors are logged,
 *   never thrown from an event, and ioredis reconnects by itself.
 * - Times are absolute epoch ms from the registrars' clocks, and Redis expires keys by its own
 *   clock: keep the hosts' clocks synchronised (NTP). Use `maxmemory-policy noeviction` — the
 *   keys have TTLs, so a `volatile-*` policy could evict live bindings. Not for Redis Cluster
 *   (`expire` touches keys of many slots); Sentinel works through an ioredis `client`.
 *
 * ```ts
 * const store = await RedisLocationStore.connect('redis://127.0.0.1:6379/0');
 * const registrar = new Registrar({ dispatcher, domains: ['example.com'], store });
 * ```
 *
 * @see RFC 3261 §10.3 (the location service), §21.5.4 (503 when it is unavailable)
 */
export class RedisLocationStore implements LocationStore {
  /** The ioredis client (for health checks and metrics). */
  readonly client: Redis;
  /** The key prefix in use. */
  readonly prefix: string;
  readonly #recordPrefix: string;
  readonly #indexKey: string;
  readonly #counterKey: string;
  readonly #ownsClient: boolean;
  readonly #timeoutMs: number;
  readonly #logger: RegistrarLogger | undefined;
  readonly #onError: (error: Error) => void;
  readonly #onReady: () => void;
  readonly #onClose: () => void;
  #down = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Builds the store from a `redis://` URL, an ioredis client, or options. Does not wait for the
   * connection: calls reject with a {@link LocationStoreError} until it is ready. Use
   * {@link connect} to wait.
   */
  constructor(options: RedisLocationStoreOptions | string | Redis) {
    const o: RedisLocationStoreOptions = typeof options === 'string' ? { url: options } : isRedisClient(options) ? { client: options } : options;
    if (o === null || typeof o !== 'object') throw new RegistrarOptionsError('RedisLocationStore needs a url or a client');
    if ((o.url === undefined) === (o.client === undefined)) throw new RegistrarOptionsError('RedisLocationStore needs exactly one of url and client');
    const connectTimeout = checkMs('connectTimeoutMs', o.connectTimeoutMs ?? 2000);
    this.#timeoutMs = checkMs('commandTimeoutMs', o.commandTimeoutMs ?? 1000);
    let prefix = o.prefix;
    if (o.url !== undefined) {
      const parsed = splitUrl(o.url);
      prefix ??= parsed.prefix;
      this.client = new Redis(parsed.url, clientOptions(connectTimeout, this.#timeoutMs));
      this.#ownsClient = true;
    } else {
      this.client = o.client as Redis;
      this.#ownsClient = false;
    }
    prefix ??= DEFAULT_PREFIX;
    if (typeof prefix !== 'string') throw new RegistrarOptionsError('prefix must be a string');
    this.prefix = prefix;
    this.#recordPrefix = `${prefix}aor:`;
    this.#indexKey = `${prefix}expiry`;
    this.#counterKey = `${prefix}version`;
    this.#logger = o.logger;
    // An 'error' event without a listener would crash the process. Log the first sign of each
    // outage (the socket closing, or an error) once, and the recovery once.
    this.#onError = (error: Error) => this.#lost(error.message);
    this.#onClose = () => this.#lost('connection closed');
    this.#onReady = () => {
      if (!this.#down) return;
      this.#down = false;
      this.#logger?.warn?.({}, 'redis location store: connected again');
    };
    this.client.on('error', this.#onError);
    this.client.on('close', this.#onClose);
    this.client.on('ready', this.#onReady);
  }

  #lost(reason: string): void {
    if (this.#down || this.#closed) return;
    this.#down = true;
    this.#logger?.warn?.({ error: reason }, 'redis location store: connection problem, calls fail until it is back');
  }

  /**
   * Builds the store and waits until Redis answers (at most `connectTimeoutMs`, default 2 s):
   * rejects with a {@link LocationStoreError} when it does not, so a proxy that cannot reach its
   * shared store fails at start-up. The client is closed on failure.
   */
  static async connect(options: RedisLocationStoreOptions | string | Redis): Promise<RedisLocationStore> {
    const store = new RedisLocationStore(options);
    const o = typeof options === 'object' && !isRedisClient(options) ? options : {};
    try {
      await store.#ready(o.connectTimeoutMs ?? 2000);
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  lookup(aor: string): Promise<LocationRecord | undefined> {
    return this.#run('lookup', async () => {
      const hash = await this.client.hgetall(this.#recordPrefix + aor);
      return decodeRecord(aor, hash);
    });
  }

  save(aor: string, bindings: readonly Binding[], options: SaveOptions): Promise<SaveResult> {
    return this.#run('save', async () => {
      let keyExpiresAt = options.expiresAt;
      let nextEvent = options.expiresAt;
      for (const b of bindings) {
        keyExpiresAt = Math.max(keyExpiresAt, b.expires);
        nextEvent = Math.min(nextEvent, b.expires);
      }
      const result = await this.#eval(SAVE, [this.#recordPrefix + aor, this.#indexKey, this.#counterKey], [
        String(options.expectedVersion),
        String(options.expiresAt),
        String(Math.ceil(keyExpiresAt)),
        String(nextEvent),
        aor,
        ...bindings.map((b) => JSON.stringify(b)),
      ]);
      const [ok, version] = result as [number, number];
      return ok === 1 ? { ok: true, version } : { ok: false, conflict: true, version };
    });
  }

  remove(aor: string, contact?: string): Promise<number> {
    return this.#run('remove', async () => {
      const key = this.#recordPrefix + aor;
      const result = contact === undefined ? await this.#eval(REMOVE_RECORD, [key, this.#indexKey], [aor]) : await this.#eval(REMOVE_BINDING, [key, this.#indexKey, this.#counterKey], [contact, aor]);
      return Number(result);
    });
  }

  expire(now: number): Promise<number> {
    return this.#run('expire', async () => {
      let dropped = 0;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const [handled, gone] = (await this.#eval(EXPIRE, [this.#indexKey, this.#counterKey], [String(now), String(EXPIRE_BATCH), this.#recordPrefix])) as [number, number];
        dropped += gone;
        if (handled < EXPIRE_BATCH) break;
      }
      return dropped;
    });
  }

  /** AORs in the expiry index, shared by every store on this Redis and prefix (lapsed ones count until a sweep). */
  count(): Promise<number> {
    return this.#run('count', () => this.#timed(this.client.zcard(this.#indexKey)));
  }

  list(): Promise<LocationRecord[]> {
    return this.#run('list', async () => {
      const pattern = `${escapeGlob(this.#recordPrefix)}*`;
      const seen = new Set<string>();
      const records: LocationRecord[] = [];
      let cursor = '0';
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const [next, keys] = await this.#timed(this.client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT, 'TYPE', 'hash'));
        const fresh = keys.filter((k) => !seen.has(k));
        for (const k of fresh) seen.add(k);
        if (fresh.length > 0) {
          const pipeline = this.client.pipeline();
          for (const k of fresh) pipeline.hgetall(k);
          const replies = (await this.#timed(pipeline.exec())) ?? [];
          replies.forEach(([error, hash], i) => {
            if (error) throw error;
            const aor = (fresh[i] as string).slice(this.#recordPrefix.length);
            const record = decodeRecord(aor, hash as Record<string, string>);
            if (record !== undefined) records.push(record);
          });
        }
        cursor = next;
        if (cursor === '0') break;
      }
      return records;
    });
  }

  /** Stops using Redis; closes the connection if the store opened it. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.client.off('ready', this.#onReady);
    this.client.off('close', this.#onClose);
    if (!this.#ownsClient) {
      this.client.off('error', this.#onError);
      return;
    }
    // Keep the error listener: a late socket error after quit must not crash the process.
    if (this.client.status === 'ready') {
      try {
        await this.#timed(this.client.quit());
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.client.disconnect(false);
  }

  /** Resolves once the client is ready, rejects after `ms` or when the connection ends. */
  #ready(ms: number): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('end', onEnd);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = () => done();
      const onEnd = () => done(new LocationStoreError('redis location store: connection closed before it was ready'));
      const timer = setTimeout(() => done(new LocationStoreError(`redis location store: not connected within ${ms} ms`)), ms);
      this.client.once('ready', onReady);
      this.client.once('end', onEnd);
    });
  }

  /** Runs one store operation: closed → closed error; not connected → fail at once; any failure → LocationStoreError. */
  async #run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new RegistrarClosedError('location store');
    if (this.client.status !== 'ready') throw new LocationStoreError(`redis location store: ${operation} failed: not connected (${this.client.status})`);
    try {
      return await body();
    } catch (error) {
      if (LocationStoreError.isInstance(error)) throw error;
      throw new LocationStoreError(`redis location store: ${operation} failed: ${(error as Error)?.message ?? String(error)}`, error);
    }
  }

  /** Bounds a command by `commandTimeoutMs` even on a client without its own commandTimeout. */
  #timed<T>(command: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LocationStoreError(`redis location store: no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  }

  /** EVALSHA, and EVAL once when the server does not know the script (first use, or after a restart). */
  async #eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.#timed(this.client.evalsha(s.sha, keys.length, ...keys, ...args));
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return this.#timed(this.client.eval(s.lua, keys.length, ...keys, ...args));
    }
  }
}

/** The ioredis options for a client the store creates: fail fast, reconnect forever. */
function clientOptions(connectTimeout: number, commandTimeout: number): RedisOptions {
  return {
    // Commands while disconnected reject at once instead of waiting in a queue.
    enableOfflineQueue: false,
    // A command in flight when the connection drops fails instead of being sent again later.
    maxRetriesPerRequest: 0,
    connectTimeout,
    commandTimeout,
    // Reconnect forever, at most one attempt a second.
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  };
}

function checkMs(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 600_000) throw new RegistrarOptionsError(`${name} must be an integer 1..600000 (got ${String(value)})`);
  return value;
}

function isRedisClient(value: unknown): value is Redis {
  return typeof value === 'object' && value !== null && typeof (value as Redis).evalsha === 'function' && typeof (value as Redis).status === 'string';
}

/** Takes the `prefix` query parameter out of a redis URL (ioredis would read it as an option). */
function splitUrl(url: string): { url: string; prefix: string | undefined } {
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new RegistrarOptionsError(`a Redis store URL starts with redis:// or rediss:// (got ${String(url)})`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RegistrarOptionsError(`not a valid Redis URL: ${url}`);
  }
  const prefix = parsed.searchParams.get('prefix') ?? undefined;
  parsed.searchParams.delete('prefix');
  return { url: parsed.toString(), prefix };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** A record from its hash (HGETALL); undefined when the key does not exist. */
function decodeRecord(aor: string, hash: Record<string, string>): LocationRecord | undefined {
  const fields = Object.keys(hash);
  if (fields.length === 0) return undefined;
  const version = Number(hash.v);
  const expiresAt = Number(hash.x);
  if (!Number.isSafeInteger(version) || version < 1 || !Number.isFinite(expiresAt)) throw new LocationStoreError(`redis location store: record of ${aor} is not in the expected format`);
  const bindings: Array<[number, Binding]> = [];
  for (const field of fields) {
    if (!field.startsWith('b:')) continue;
    bindings.push([Number(field.slice(2)), JSON.parse(hash[field] as string) as Binding]);
  }
  bindings.sort((a, b) => a[0] - b[0]);
  return { aor, bindings: bindings.map(([, b]) => b), expiresAt, version };
}
