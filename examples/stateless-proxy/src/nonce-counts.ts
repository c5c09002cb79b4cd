import type { NonceCountStore } from '@sipway/auth';
import type { RedisLocationStore } from '@sipway/registrar/redis';

// Atomic check-and-raise: a count is good only when above every count seen for the nonce.
const USE_SCRIPT = `local seen = redis.call('GET', KEYS[1])
if seen and tonumber(seen) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * Digest nonce counts kept in the Redis of `--store redis://…`, so an answer replayed to another
 * proxy of the cluster is refused too (the in-process default refuses it only where it was seen).
 * Keys expire with the nonce. While Redis is down `use` says no (fail closed): the client gets a
 * fresh `stale=TRUE` challenge, never an accepted replay, and the proxy keeps running.
 * @see RFC 7616 §5.12 (replay), RFC 2617 §3.2.2 (nc)
 */
export class RedisNonceCountStore implements NonceCountStore {
  readonly #client: RedisLocationStore['client'];
  readonly #prefix: string;
  readonly #ttlMs: number;

  /** `ttlMs`: how long a nonce stays good (the authenticator's `nonceTtl`, default 300 s). */
  constructor(store: RedisLocationStore, ttlMs = 300_000) {
    this.#client = store.client;
    this.#prefix = `${store.prefix}nonce:`;
    this.#ttlMs = ttlMs;
  }

  async use(nonce: string, nc: number, issuedAt: number): Promise<boolean> {
    // Kept a minute past the nonce's own expiry, so clock skew between proxies cannot reopen it.
    const keepMs = Math.max(1000, issuedAt + this.#ttlMs - Date.now() + 60_000);
    try {
      const result = await this.#client.eval(USE_SCRIPT, 1, `${this.#prefix}${nonce}`, String(nc), String(keepMs));
      return result === 1;
    } catch {
      return false;
    }
  }
}
