import { hkdfSync, randomBytes } from 'node:crypto';
import { ContactRewriterError } from './errors.js';
import { MIN_CONTACT_KEY_BYTES } from './siv-crypt.js';

/** Environment variable holding the current contact key (hex or base64). */
export const CONTACT_KEY_ENV = 'SIPWAY_CONTACT_KEY';
/** Environment variable holding previous contact keys, separated by commas or white space. */
export const CONTACT_KEY_PREVIOUS_ENV = 'SIPWAY_CONTACT_KEY_PREVIOUS';
/** Longest key accepted, in bytes (a key is a secret, not a document). */
export const MAX_CONTACT_KEY_BYTES = 1024;

/** A key as configured: text (`hex:…`, `base64:…`, bare hex or bare base64) or bytes. */
export type ContactKeyInput = string | Uint8Array;

/** Where the current key came from. `random`: nothing configured, a per-process key is used. */
export type ContactKeySource = 'option' | 'env' | 'random';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Parse a configured key. Text forms: `hex:<digits>`, `base64:<text>` (standard or URL-safe
 * alphabet, padding optional), or without a prefix: hex when it is an even number of hex
 * digits, base64 otherwise. At least {@link MIN_CONTACT_KEY_BYTES} bytes.
 * @throws {ContactRewriterError} `CONTACT_KEY_INVALID`
 */
export function parseContactKey(input: ContactKeyInput, what = 'contact key'): Uint8Array {
  let bytes: Uint8Array;
  if (input instanceof Uint8Array) {
    bytes = Uint8Array.from(input);
  } else if (typeof input === 'string') {
    const text = input.trim();
    const lower = text.toLowerCase();
    if (lower.startsWith('hex:')) bytes = parseHex(text.slice(4), what);
    else if (lower.startsWith('base64:')) bytes = parseBase64(text.slice(7), what);
    else if (HEX.test(text)) bytes = parseHex(text, what);
    else bytes = parseBase64(text, what);
  } else {
    throw new ContactRewriterError('CONTACT_KEY_INVALID', `${what} must be a string or a Uint8Array`);
  }
  if (bytes.length < MIN_CONTACT_KEY_BYTES || bytes.length > MAX_CONTACT_KEY_BYTES) {
    throw new ContactRewriterError(
      'CONTACT_KEY_INVALID',
      `${what} must be ${MIN_CONTACT_KEY_BYTES}–${MAX_CONTACT_KEY_BYTES} bytes, got ${bytes.length}` +
        ' (generate one with: openssl rand -base64 32)',
    );
  }
  return bytes;
}

function parseHex(text: string, what: string): Uint8Array {
  if (!HEX.test(text)) throw new ContactRewriterError('CONTACT_KEY_INVALID', `${what} is not valid hex`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

function parseBase64(text: string, what: string): Uint8Array {
  if (!BASE64.test(text)) {
    throw new ContactRewriterError('CONTACT_KEY_INVALID', `${what} is neither hex nor base64`);
  }
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  // Node's decoder skips what it cannot use; re-encoding catches texts that are not canonical base64.
  const canonical = bytes.toString('base64').replace(/=+$/, '');
  if (canonical !== text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')) {
    throw new ContactRewriterError('CONTACT_KEY_INVALID', `${what} is not valid base64`);
  }
  return Uint8Array.from(bytes);
}

let processKey: Uint8Array | undefined;

/**
 * The per-process random key: 32 bytes from the system CSPRNG, drawn on first use and shared
 * by every rewriter of the process (as Net::SIP's key is). Tokens made with it die with the
 * process and are not understood by other nodes: a fallback, never a deployment setting.
 */
export function processRandomKey(): Uint8Array {
  processKey ??= Uint8Array.from(randomBytes(32));
  return processKey;
}

/** What {@link resolveContactKeys} reads. */
export interface ContactKeyConfig {
  /** Current key; wins over the environment. */
  readonly key?: ContactKeyInput | undefined;
  /** Keys still accepted for decoding, newest first (needs `key` or the env key). */
  readonly previousKeys?: readonly ContactKeyInput[] | undefined;
  /** Environment to read {@link CONTACT_KEY_ENV} and {@link CONTACT_KEY_PREVIOUS_ENV} from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** Keys ready for use. */
export interface ResolvedContactKeys {
  readonly current: Uint8Array;
  readonly previous: readonly Uint8Array[];
  readonly source: ContactKeySource;
}

/**
 * Find the contact keys: the `key` option, else `SIPWAY_CONTACT_KEY`, else the per-process
 * random key (`source: 'random'`). Previous keys come from the same place as the current one.
 * @throws {ContactRewriterError} `CONTACT_KEY_INVALID` for an unparsable key,
 *   `CONTACT_OPTION_INVALID` for previous keys without a current one.
 */
export function resolveContactKeys(config: ContactKeyConfig = {}): ResolvedContactKeys {
  const env = config.env ?? process.env;
  if (config.key !== undefined) {
    return {
      current: parseContactKey(config.key, 'key option'),
      previous: (config.previousKeys ?? []).map((k, i) => parseContactKey(k, `previousKeys[${i}]`)),
      source: 'option',
    };
  }
  if (config.previousKeys !== undefined && config.previousKeys.length > 0) {
    throw new ContactRewriterError('CONTACT_OPTION_INVALID', 'previousKeys given without a current key');
  }
  const envKey = env[CONTACT_KEY_ENV]?.trim();
  const envPrevious = (env[CONTACT_KEY_PREVIOUS_ENV] ?? '').split(/[\s,]+/).filter((k) => k !== '');
  if (envKey !== undefined && envKey !== '') {
    return {
      current: parseContactKey(envKey, CONTACT_KEY_ENV),
      previous: envPrevious.map((k, i) => parseContactKey(k, `${CONTACT_KEY_PREVIOUS_ENV}[${i}]`)),
      source: 'env',
    };
  }
  if (envPrevious.length > 0) {
    throw new ContactRewriterError(
      'CONTACT_OPTION_INVALID',
      `${CONTACT_KEY_PREVIOUS_ENV} is set but ${CONTACT_KEY_ENV} is not`,
    );
  }
  return { current: processRandomKey(), previous: [], source: 'random' };
}

/**
 * Net::SIP-sized RC4 and MAC keys (21 and 4 bytes) derived from a secret with HKDF-SHA-256,
 * so one configured secret serves both codecs without the codecs sharing key bytes.
 */
export function deriveRc4Md5Keys(secret: Uint8Array): { key: Uint8Array; macKey: Uint8Array } {
  const salt = Buffer.from('sipway contact-rewriter');
  return {
    key: new Uint8Array(hkdfSync('sha256', secret, salt, 'rc4-md5 rc4 key', 21)),
    macKey: new Uint8Array(hkdfSync('sha256', secret, salt, 'rc4-md5 mac key', 4)),
  };
}
