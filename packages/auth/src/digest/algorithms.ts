import { createHash } from 'node:crypto';

/**
 * Digest algorithms sipway verifies. `SHA-256` and `SHA-512-256` come from RFC 8760 (RFC 7616's
 * algorithms for SIP), `MD5` from RFC 2617 and RFC 3261 §22.4. The `-sess` variants are never
 * offered, so a compliant client never uses them.
 */
export type DigestAlgorithm = 'SHA-256' | 'SHA-512-256' | 'MD5';

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'SHA-512-256', 'MD5'];

const NODE_NAME: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256', MD5: 'md5' };
/** Length of a hex digest, to refuse a response of the wrong size before comparing. */
export const HEX_LENGTH: Record<DigestAlgorithm, number> = { 'SHA-256': 64, 'SHA-512-256': 64, MD5: 32 };

/** Maps the `algorithm` parameter (case-insensitive token; absent means MD5) to ours. */
export function algorithmOf(param: string | undefined): DigestAlgorithm | undefined {
  if (param === undefined) return 'MD5'; // RFC 2617 §3.2.1: "If this is not present it is assumed to be MD5"
  const upper = param.toUpperCase();
  return DIGEST_ALGORITHMS.find((a) => a === upper);
}

/** H(data) as lower-case hex. @see RFC 7616 §3.4.1 */
export function digestHash(algorithm: DigestAlgorithm, data: string): string {
  return createHash(NODE_NAME[algorithm]).update(data, 'utf8').digest('hex');
}

/**
 * HA1 = H(username ":" realm ":" password), what a user database stores instead of the password.
 * @see RFC 2617 §3.2.2.2, RFC 7616 §3.4.2
 */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/** What the request-digest is computed over. */
export interface DigestInput {
  algorithm: DigestAlgorithm;
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
  /** With qop=auth: nc, cnonce and qop; without: the RFC 2069 form. */
  qop?: { qop: 'auth'; nc: string; cnonce: string } | undefined;
}

/**
 * request-digest: H(HA1:nonce:nc:cnonce:qop:HA2) with qop=auth, H(HA1:nonce:HA2) without, where
 * HA2 = H(method:uri).
 * @see RFC 2617 §3.2.2.1, RFC 7616 §3.4.1
 */
export function computeDigestResponse(input: DigestInput): string {
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  const q = input.qop;
  const data = q === undefined ? `${input.ha1}:${input.nonce}:${ha2}` : `${input.ha1}:${input.nonce}:${q.nc}:${q.cnonce}:${q.qop}:${ha2}`;
  return digestHash(input.algorithm, data);
}
