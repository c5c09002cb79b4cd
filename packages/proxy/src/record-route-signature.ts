/**
 * Signed Record-Route entries: the URI this proxy records carries an HMAC of the dialog's
 * Call-ID and the caller's From tag, so an in-dialog request that comes back through a Route
 * naming us proves the route set was recorded here, and a forged `Route: <sip:proxy;lr>`
 * proves nothing (RFC 3261 §16.6 step 4 lets a proxy put any parameter into its Record-Route
 * URI; §16.4 hands it back in the Route).
 */
import { createHash, hash, hkdfSync, timingSafeEqual } from 'node:crypto';
import { parseContactKey, resolveContactKeys } from '@sipway/contact-rewriter';
import type { ContactKeyInput } from '@sipway/contact-rewriter';

/** The Record-Route URI parameter holding the signature. */
export const RECORD_ROUTE_SIGNATURE_PARAM = 'rrsig';
const SIGNATURE_BYTES = 12;

/** Where the Record-Route key came from. */
export type RecordRouteKeySource = 'option' | 'contact-key' | 'env' | 'random';

/**
 * The Record-Route key: `recordRouteKey`, else derived (HKDF-SHA-256) from the contact key
 * (option or `SIPWAY_CONTACT_KEY`), else from the per-process random key. Derived keys differ
 * from the contact key itself, so neither use leaks into the other.
 */
export function recordRouteKey(recordRouteKeyInput: ContactKeyInput | undefined, contactKey: ContactKeyInput | undefined): { key: Buffer; source: RecordRouteKeySource } {
  if (recordRouteKeyInput !== undefined) return { key: Buffer.from(parseContactKey(recordRouteKeyInput, 'recordRouteKey')), source: 'option' };
  const resolved = resolveContactKeys({ key: contactKey });
  const derived = Buffer.from(hkdfSync('sha256', resolved.current, Buffer.from('sipway proxy'), Buffer.from('record-route'), 32));
  const source: RecordRouteKeySource = resolved.source === 'option' ? 'contact-key' : resolved.source;
  return { key: derived, source };
}

/** Signatures kept per process: a dialog's requests (INVITE, ACK, BYE, re-INVITE) sign and verify the same pair. */
const CACHE_SIZE = 8192;

/** Signs and checks Record-Route entries. */
export class RecordRouteSigner {
  // HMAC-SHA-256 (RFC 2104) as two one-shot hashes (crypto.hash) over buffers that start with the
  // key pads: a Hmac object per signature (createHmac) costs several times the hashing itself on
  // these short inputs. #inner is the inner pad then the data, #outer the outer pad then the inner hash.
  #inner: Buffer;
  readonly #outer: Buffer;
  // Bounded; the oldest entry goes first (a Map iterates in insertion order).
  readonly #cache = new Map<string, string>();

  constructor(key: Buffer) {
    const block = Buffer.alloc(64);
    (key.length > 64 ? createHash('sha256').update(key).digest() : key).copy(block);
    this.#inner = Buffer.allocUnsafe(64 + 256);
    this.#outer = Buffer.allocUnsafe(64 + 32);
    for (let i = 0; i < 64; i++) {
      this.#inner[i] = block[i]! ^ 0x36;
      this.#outer[i] = block[i]! ^ 0x5c;
    }
  }

  /** The signature for a dialog: base64url of a truncated HMAC-SHA-256 over Call-ID and tag. */
  sign(callId: string, tag: string | undefined): string {
    const data = `${callId}\n${tag ?? ''}`;
    const cached = this.#cache.get(data);
    if (cached !== undefined) return cached;
    const signature = this.#hmac(data).subarray(0, SIGNATURE_BYTES).toString('base64url');
    if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(data, signature);
    return signature;
  }

  #hmac(data: string): Buffer {
    const length = Buffer.byteLength(data);
    if (64 + length > this.#inner.length) {
      const grown = Buffer.allocUnsafe(64 + length);
      this.#inner.copy(grown, 0, 0, 64);
      this.#inner = grown;
    }
    this.#inner.write(data, 64);
    (hash('sha256', this.#inner.subarray(0, 64 + length), 'buffer') as Buffer).copy(this.#outer, 64);
    return hash('sha256', this.#outer, 'buffer') as Buffer;
  }

  /**
   * True when `signature` was made for this Call-ID and one of the tags. In-dialog requests of
   * the callee have the caller's tag in To, those of the caller in From (RFC 3261 §12.2.1.1).
   */
  verify(signature: string, callId: string, tags: readonly (string | undefined)[]): boolean {
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== SIGNATURE_BYTES) return false;
    for (const tag of tags) {
      if (tag === undefined) continue;
      if (timingSafeEqual(given, Buffer.from(this.sign(callId, tag), 'base64url'))) return true;
    }
    return false;
  }
}
