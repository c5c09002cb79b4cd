import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Where the nonce secret came from; `random` means nonces die with the process (reported). */
export type NonceSecretSource = 'option' | 'env' | 'random';

/** What checking a nonce found. `issuedAt` is set whenever the MAC is valid. */
export type NonceCheck =
  | { valid: true; expired: false; issuedAt: number }
  | { valid: true; expired: true; issuedAt: number }
  | { valid: false };

const TS_BYTES = 8;
const SALT_BYTES = 8;
const MAC_BYTES = 16;
const TOTAL = TS_BYTES + SALT_BYTES + MAC_BYTES;
/** Nonces stamped a little in the future still pass: clocks of cluster nodes differ slightly. */
const FUTURE_SKEW_MS = 30_000;

/**
 * Stateless nonces: base64url(issued-at ms ‖ 8 random bytes ‖ HMAC-SHA-256(secret, issued-at ‖
 * salt ‖ realm [‖ client address])[0..16]). Any node holding the same secret verifies them, so a
 * cluster shares nothing but the secret; the random salt makes each challenge's nonce unique, so
 * nonce counts can be tracked per nonce.
 * @see RFC 2617 §3.2.1 (nonce), RFC 7616 §5.4
 */
export class NonceSigner {
  readonly #secret: Buffer;
  readonly #realm: string;
  readonly #ttlMs: number;

  constructor(secret: Buffer, realm: string, ttlMs: number) {
    this.#secret = secret;
    this.#realm = realm;
    this.#ttlMs = ttlMs;
  }

  #mac(head: Buffer, address: string | undefined): Buffer {
    const h = createHmac('sha256', this.#secret);
    h.update(head);
    h.update(`\0${this.#realm}\0${address ?? ''}`, 'utf8');
    return h.digest().subarray(0, MAC_BYTES);
  }

  /** A fresh nonce issued at `now` (ms), optionally bound to the client's address. */
  create(now: number, address?: string): string {
    const head = Buffer.alloc(TS_BYTES + SALT_BYTES);
    head.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 0);
    randomBytes(SALT_BYTES).copy(head, TS_BYTES);
    return Buffer.concat([head, this.#mac(head, address)]).toString('base64url');
  }

  /** Checks the MAC (timing-safe) and the age of a nonce. */
  check(nonce: string, now: number, address?: string): NonceCheck {
    if (nonce.length !== Math.ceil((TOTAL * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return { valid: false };
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== TOTAL) return { valid: false };
    const head = raw.subarray(0, TS_BYTES + SALT_BYTES);
    if (!timingSafeEqual(raw.subarray(TS_BYTES + SALT_BYTES), this.#mac(head, address))) return { valid: false };
    const issuedAt = Number(head.readBigUInt64BE(0));
    if (issuedAt > now + FUTURE_SKEW_MS) return { valid: false };
    return now - issuedAt > this.#ttlMs ? { valid: true, expired: true, issuedAt } : { valid: true, expired: false, issuedAt };
  }
}

/**
 * The secret: the option, else `SIPWAY_NONCE_SECRET`, else 32 random bytes (nonces then fail on
 * every other node and after a restart: clients see one extra challenge, so it is reported).
 */
export function resolveNonceSecret(option: string | Uint8Array | undefined, env: string | undefined): { secret: Buffer; source: NonceSecretSource } {
  if (option !== undefined) return { secret: Buffer.from(typeof option === 'string' ? Buffer.from(option, 'utf8') : option), source: 'option' };
  if (env !== undefined && env.length > 0) return { secret: Buffer.from(env, 'utf8'), source: 'env' };
  return { secret: randomBytes(32), source: 'random' };
}
