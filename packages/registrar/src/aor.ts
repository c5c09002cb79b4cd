import { canonicalAor } from '@sipway/sip-message';

/**
 * The canonical form of an address-of-record: `scheme:user@host`, no password, port, parameters
 * or headers, the user with only the necessary %-escapes — @sipway/sip-message's
 * `canonicalAor`, the one the proxy looks bindings up with. Undefined for URIs that cannot be an
 * AOR (not sip/sips, unparseable).
 *
 * @see RFC 3261 §10.3 step 5, §19.1.4
 */
export const toAor = canonicalAor;
