/**
 * Signed Record-Route entries: the URI this proxy records carries an HMAC of the dialog's
 * Call-ID and the caller's From tag, so an in-dialog request that comes back through a Route
 * naming us proves the route set was recorded here, and a forged `Route: <sip:proxy;lr>`
 * proves nothing (RFC 3261 §16.6 step 4 lets a proxy put any parameter into its Record-Route
 * URI; §16.4 hands it back in the Route).
 */
import { createHmac, createSecretKey, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
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

/** Signs and checks Record-Route entries. */
export class RecordRouteSigner {
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    // A KeyObject once, instead of key bytes imported on every signature.
    this.#key = createSecretKey(key);
  }

  /** The signature for a dialog: base64url of a truncated HMAC-SHA-256 over Call-ID and tag. */
  sign(callId: string, tag: string | undefined): string {
    return createHmac('sha256', this.#key)
      .update(`${callId}\n${tag ?? ''}`)
      .digest()
      .subarray(0, SIGNATURE_BYTES)
      .toString('base64url');
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
