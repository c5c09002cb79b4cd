/**
 * Remembers which nonce counts were used, so a captured request cannot be replayed.
 * @see RFC 2617 §3.2.2 (nc: "detect request replays by maintaining its own copy of this count")
 */
export interface NonceCountStore {
  /**
   * Records `nc` for `nonce` and says whether it was acceptable: true only when `nc` is greater
   * than every count seen before for this nonce. `issuedAt` (ms) is the nonce's time stamp.
   */
  use(nonce: string, nc: number, issuedAt: number): boolean | Promise<boolean>;
}

export interface MemoryNonceCountStoreOptions {
  /** How many nonces are remembered (default 10 000); the least recently used go first. */
  maxEntries?: number | undefined;
}

/**
 * The in-process {@link NonceCountStore}: a bounded LRU of nonce → highest nc. When a nonce that
 * has not expired yet must be forgotten, every nonce issued up to its time stamp is refused from
 * then on (the client gets `stale=true` and re-authenticates), so eviction never reopens a replay.
 *
 * Cluster caveat: the counts live in this process. A request replayed to another node of the
 * cluster within the nonce lifetime is accepted there once; keep `nonceTtl` short, bind nonces to
 * the client address, or give every node a shared store implementing this interface.
 */
export class MemoryNonceCountStore implements NonceCountStore {
  readonly #max: number;
  readonly #entries = new Map<string, { nc: number; issuedAt: number }>();
  #watermark = -1;

  constructor(options: MemoryNonceCountStoreOptions = {}) {
    this.#max = options.maxEntries ?? 10_000;
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  /** How many nonces are remembered. */
  get size(): number {
    return this.#entries.size;
  }

  use(nonce: string, nc: number, issuedAt: number): boolean {
    const seen = this.#entries.get(nonce);
    if (seen === undefined) {
      if (issuedAt <= this.#watermark) return false;
    } else {
      if (nc <= seen.nc) return false;
      this.#entries.delete(nonce);
    }
    this.#entries.set(nonce, { nc, issuedAt });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.entries().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest[0]);
      if (oldest[1].issuedAt > this.#watermark) this.#watermark = oldest[1].issuedAt;
    }
    return true;
  }
}
