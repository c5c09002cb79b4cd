/**
 * Pieces of the relay policy (who may have a request forwarded to a target the proxy does not
 * serve). The decision itself is in StatelessProxy; here: the evidence an ACK or CANCEL
 * inherits from the INVITE it belongs to.
 */
import type { SipRequest } from '@sipway/sip-message';

/**
 * INVITEs relayed on the sender's own standing (authenticated or allow-listed) that their
 * CANCEL and non-2xx ACK may follow: neither is ever challenged (RFC 3261 §22.1), and both
 * carry the INVITE's Call-ID, top Via branch, CSeq number and Request-URI (§9.1, §17.1.1.3).
 * Bounded in size and time; the only state the proxy keeps, and only for that case.
 */
export class RecentRelays {
  readonly #entries = new Map<string, number>();
  readonly #capacity: number;
  readonly #ttlMs: number;

  constructor(capacity = 10_000, ttlMs = 200_000) {
    this.#capacity = capacity;
    this.#ttlMs = ttlMs;
  }

  /** The key of an INVITE transaction as its CANCEL and ACK repeat it; undefined without a branch. */
  static keyOf(request: SipRequest, requestUri: string): string | undefined {
    let branch;
    try {
      branch = request.topVia?.branch;
    } catch {
      return undefined;
    }
    const cseq = request.cseq;
    if (branch === undefined || cseq === undefined) return undefined;
    return `${request.callId}\n${branch}\n${cseq.seq}\n${requestUri}`;
  }

  add(key: string, now = Date.now()): void {
    this.#entries.delete(key);
    this.#entries.set(key, now + this.#ttlMs);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  has(key: string, now = Date.now()): boolean {
    const until = this.#entries.get(key);
    if (until === undefined) return false;
    if (until < now) {
      this.#entries.delete(key);
      return false;
    }
    return true;
  }
}
