import { isUtf8 } from 'node:buffer';
import { base32Decode, base32Encode } from './base32.js';
import { rotatingCrypt, type ContactCrypt } from './crypt.js';
import { rejectChannel, type ContactRejectReason } from './diagnostics.js';
import { ContactRewriterError } from './errors.js';
import {
  deriveRc4Md5Keys,
  resolveContactKeys,
  type ContactKeyInput,
  type ContactKeySource,
} from './keys.js';
import { legListIdentity } from './leg-list.js';
import { rc4Md5Crypt } from './rc4-md5-crypt.js';
import { sipUriEqual } from './sip-uri-equal.js';
import { DEFAULT_TAG_BITS, sivCrypt } from './siv-crypt.js';
import { CONTACT_TOKEN_PREFIX, type ContactCodecName } from './token-length.js';

/**
 * The default shape of a leg: `key` is its identity in the leg list (Net::SIP:
 * `"Net::SIP::Leg udp:192.0.2.10:5060"`, see `netSipLegKey`), `contact` its SIP URI. Either
 * may be a string or a method. Other shapes work with the `legKey`/`legContact` options.
 */
export interface RewriterLeg {
  readonly key: string | (() => string);
  readonly contact?: string | (() => string | undefined) | undefined;
}

/**
 * Filled by a decode with the leg the token's packet originally came in on: Net::SIP's
 * `\$leg_out` scalar reference (the Request-URI case).
 */
export class LegSlot<L> {
  leg: L | undefined = undefined;
}

/**
 * Net::SIP's `rewrite_contact(contact, leg_in, leg_out, force)` contract.
 * - Encode when `force` is true or `contact` contains `@`: return a token matching `\w+`.
 * - Decode otherwise (`contact` is the user part of a URI): return the original
 *   `user@host;params`, or `undefined`. `legOut` is a leg to verify (the token must have come
 *   in through it originally) or a {@link LegSlot} to fill with that leg.
 */
export type RewriteContactCallback<L> = (
  contact: string,
  legIn: L,
  legOut: L | LegSlot<L> | undefined,
  force: boolean,
) => string | undefined;

/** Result of {@link ContactRewriter.decode}. */
export interface DecodedContact<L> {
  /** The original contact, `user@host:port;uri-params` (or `host…` without a user part). */
  readonly contact: string;
  /**
   * The leg the packet carrying the original contact came in on (the leg to send towards it),
   * or the `legOut` given to `decode`. Always set by the built-in codecs; a custom `rewrite`
   * callback may leave it unset.
   */
  readonly leg: L | undefined;
  /**
   * When the token was made (ms since the epoch, rounded down to an eighth of `tokenLifetime`),
   * for a timed SIV token; `undefined` for an untimed one (Net::SIP's rc4-md5 codec cannot carry
   * time, nor could SIV tokens before the time limit). A caller that wants a stricter rule for
   * some requests (out-of-dialog ones, say) compares it with its own limit.
   */
  readonly issuedAt?: number | undefined;
}

/** Optional logger, pino-compatible (`logger.warn(fields, message)`); no dependency on pino. */
export interface ContactRewriterLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link ContactRewriter}. Unknown options are an error. */
export interface ContactRewriterOptions<L> {
  /** The proxy's legs in order (Net::SIP: the dispatcher's leg list), or a function returning them. */
  readonly legs: readonly L[] | (() => readonly L[]);
  /** Identity string of a leg. Default: its `key` property or method. */
  readonly legKey?: ((leg: L) => string) | undefined;
  /** SIP URI of a leg, to accept a token coming back through an equivalent leg. Default: its `contact`. */
  readonly legContact?: ((leg: L) => string | undefined) | undefined;
  /** Codec that makes new tokens. Default `'siv'`. */
  readonly codec?: ContactCodecName | undefined;
  /** Codecs whose tokens are decoded (by prefix). Default: only `codec`. Must include `codec`. */
  readonly accept?: readonly ContactCodecName[] | undefined;
  /** Current key (hex or base64 text, or bytes, ≥ 16 bytes). Default: `SIPWAY_CONTACT_KEY`, else random per process. */
  readonly key?: ContactKeyInput | undefined;
  /** Keys still accepted for decoding after a rotation, newest first. */
  readonly previousKeys?: readonly ContactKeyInput[] | undefined;
  /** Environment to read the keys from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Tag length of the SIV codec in bits (32–128, multiple of 8). Default 64. */
  readonly tagBits?: number | undefined;
  /** Replaces the key-derived crypt of `codec` (Net::SIP's `rewrite_crypt`). */
  readonly crypt?: ContactCrypt | undefined;
  /** Replaces the whole default codec (Net::SIP's `rewrite_contact`). */
  readonly rewrite?: RewriteContactCallback<L> | undefined;
  /** Told when the per-process random key is used. */
  readonly logger?: ContactRewriterLogger | undefined;
  /**
   * Seconds a SIV token stays valid after it was made (its issue time is inside the encrypted,
   * MACed data), so a captured token cannot be replayed for ever. Default 604800 (7 days): longer
   * than any registration refresh and any call. `0`: no limit, untimed tokens as before the limit
   * existed. Not for the rc4-md5 codec: Net::SIP's token format has no room for a time.
   */
  readonly tokenLifetime?: number | undefined;
  /**
   * Until when (ms since the epoch, or a Date) untimed SIV tokens, made before tokens carried
   * their issue time, still decode. Default: never (they are refused as `expired`), unless
   * `tokenLifetime` is 0.
   */
  readonly acceptUntimedUntil?: number | Date | undefined;
  /** Clock in ms since the epoch (tests pass a fake one). Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** Default {@link ContactRewriterOptions.tokenLifetime}: 7 days. */
export const DEFAULT_TOKEN_LIFETIME = 7 * 24 * 3600;
/** How far in the future an issue time may be (clock skew between nodes of a cluster), seconds. */
const FUTURE_SKEW = 300;
// Timed SIV tokens are MACed with this label before the leg-list identity, so an untimed token can
// never pass for a timed one or the other way round (their plaintexts are laid out differently).
const TIMED_LABEL = Buffer.from('sipway timed contact token v1\u0000', 'utf8');

const OPTION_NAMES = new Set([
  'legs', 'legKey', 'legContact', 'codec', 'accept', 'key', 'previousKeys', 'env', 'tagBits', 'crypt', 'rewrite', 'logger',
  'tokenLifetime', 'acceptUntimedUntil', 'now',
]);
const CODECS: readonly ContactCodecName[] = ['siv', 'rc4-md5'];
const TOKEN_BODY = /^[A-Z2-7]+$/;
const WORD = /^\w+$/;

function invalid(message: string): ContactRewriterError {
  return new ContactRewriterError('CONTACT_OPTION_INVALID', `ContactRewriter: ${message}`);
}

function defaultLegKey(leg: unknown): string {
  const key = (leg as { key?: unknown } | null)?.key;
  const value = typeof key === 'function' ? (key as () => unknown).call(leg) : key;
  if (typeof value !== 'string') {
    throw new ContactRewriterError('CONTACT_LEG_INVALID', 'ContactRewriter: leg has no string `key`; pass the legKey option');
  }
  return value;
}

function defaultLegContact(leg: unknown): string | undefined {
  const contact = (leg as { contact?: unknown } | null)?.contact;
  const value = typeof contact === 'function' ? (contact as () => unknown).call(leg) : contact;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Rewrites Contact addresses into tokens that name the proxy and carry the original, and back
 * (Net::SIP StatelessProxy's `rewrite_contact`). A token is `prefix + base32(crypt(u16be(i) ‖
 * u16be(o) ‖ contact, add2mac = leg-list identity))`, where `i`/`o` are the indices of the
 * incoming and outgoing legs (0xFFFF for a leg not in the list). It comes back as the user
 * part of a Request-URI or Contact, and decodes only through the leg it went out on, with the
 * same leg list and a key this rewriter knows.
 * @see RFC 3261 §16.6 (proxy request forwarding), §19.1.1 (user part), §20.10 (Contact)
 */
export class ContactRewriter<L extends object = RewriterLeg> {
  /** Where the key came from; `'custom'` when a custom crypt or rewrite callback needs none. */
  readonly keySource: ContactKeySource | 'custom';
  /** True when tokens use the per-process random key (they die with the process). */
  readonly randomKey: boolean;
  /** The codec that makes new tokens. */
  readonly codec: ContactCodecName;

  readonly #legs: () => readonly L[];
  readonly #legKey: (leg: L) => string;
  readonly #legContact: (leg: L) => string | undefined;
  readonly #custom: RewriteContactCallback<L> | undefined;
  readonly #prefix: string;
  readonly #crypts = new Map<string, ContactCrypt>();
  #dictText = '';
  #dictBytes: Uint8Array = new Uint8Array(0);
  // A dialog repeats its Contacts in every request and response, so the same tokens are made
  // and read again and again; bounded caches skip the cipher and MAC for those. Both depend on
  // the leg list, which is part of the key.
  readonly #encoded = new Map<string, string>();
  readonly #decrypted = new Map<string, Decrypted | null>();
  /** Seconds; 0 = untimed tokens, no limit. */
  readonly #lifetime: number;
  /** Issue times are rounded down to this many seconds (an eighth of the lifetime). */
  readonly #granularity: number;
  readonly #untimedUntil: number;
  readonly #now: () => number;
  #timedDictText = '';
  #timedDictBytes: Uint8Array = new Uint8Array(0);

  /** Seconds a new SIV token stays valid (0: untimed, no limit). */
  get tokenLifetime(): number {
    return this.#lifetime;
  }

  constructor(options: ContactRewriterOptions<L>) {
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name)) throw invalid(`unknown option "${name}"`);
    }
    // Bound, so `rewriter.rewrite` can be handed over as a Net::SIP-style callback.
    this.rewrite = this.rewrite.bind(this);
    this.encode = this.encode.bind(this);
    this.decode = this.decode.bind(this);
    this.isToken = this.isToken.bind(this);
    const { legs } = options;
    if (typeof legs === 'function') this.#legs = legs;
    else if (Array.isArray(legs)) this.#legs = () => legs;
    else throw invalid('legs must be an array of legs or a function returning one');
    this.#legKey = options.legKey ?? defaultLegKey;
    this.#legContact = options.legContact ?? defaultLegContact;

    const codec = options.codec ?? 'siv';
    if (!CODECS.includes(codec)) throw invalid(`unknown codec "${String(codec)}" (siv, rc4-md5)`);
    const accept = [...new Set(options.accept ?? [codec])];
    for (const c of accept) if (!CODECS.includes(c)) throw invalid(`unknown codec "${String(c)}" in accept`);
    if (!accept.includes(codec)) throw invalid(`accept must include the encoding codec "${codec}"`);
    const tagBits = options.tagBits ?? DEFAULT_TAG_BITS;
    if (options.tagBits !== undefined && !accept.includes('siv')) throw invalid('tagBits applies to the siv codec only');
    if (options.logger !== undefined && typeof options.logger?.warn !== 'function') {
      throw invalid('logger must have a warn(fields, message) method');
    }
    this.codec = codec;
    this.#prefix = CONTACT_TOKEN_PREFIX[codec];
    const lifetime = options.tokenLifetime ?? DEFAULT_TOKEN_LIFETIME;
    if (!Number.isInteger(lifetime) || lifetime < 0 || lifetime > 0xffffffff || (lifetime > 0 && lifetime < 60)) {
      throw invalid(`tokenLifetime must be 0 (no limit) or whole seconds from 60 to 4294967295, got ${String(lifetime)}`);
    }
    if (options.tokenLifetime !== undefined && !accept.includes('siv')) {
      throw invalid("tokenLifetime applies to the siv codec only: Net::SIP's rc4-md5 tokens cannot carry a time");
    }
    this.#lifetime = lifetime;
    this.#granularity = Math.max(1, Math.floor(lifetime / 8));
    const until = options.acceptUntimedUntil;
    const untilMs = until instanceof Date ? until.getTime() : until;
    if (untilMs !== undefined && !Number.isFinite(untilMs)) throw invalid('acceptUntimedUntil must be a time in ms or a Date');
    this.#untimedUntil = lifetime === 0 ? Infinity : (untilMs ?? -Infinity);
    if (options.now !== undefined && typeof options.now !== 'function') throw invalid('now must be a function returning ms');
    this.#now = options.now ?? Date.now;

    this.#custom = options.rewrite;
    if (this.#custom !== undefined) {
      if (typeof this.#custom !== 'function') throw invalid('rewrite must be a function');
      if (options.crypt !== undefined) throw invalid('crypt has no effect with a custom rewrite callback');
      this.keySource = 'custom';
      this.randomKey = false;
      return;
    }
    if (options.crypt !== undefined && (typeof options.crypt.encrypt !== 'function' || typeof options.crypt.decrypt !== 'function')) {
      throw invalid('crypt must have encrypt and decrypt functions');
    }
    const needKeys = accept.some((c) => !(c === codec && options.crypt !== undefined));
    const keys = needKeys
      ? resolveContactKeys({ key: options.key, previousKeys: options.previousKeys, env: options.env })
      : undefined;
    for (const c of accept) {
      let crypt: ContactCrypt;
      if (c === codec && options.crypt !== undefined) crypt = options.crypt;
      else {
        const all = [keys!.current, ...keys!.previous].map((secret) =>
          c === 'siv' ? sivCrypt({ key: secret, tagBits }) : rc4Md5Crypt(deriveRc4Md5Keys(secret)),
        );
        crypt = rotatingCrypt(all[0]!, ...all.slice(1));
      }
      this.#crypts.set(CONTACT_TOKEN_PREFIX[c], crypt);
    }
    this.keySource = keys?.source ?? 'custom';
    this.randomKey = keys?.source === 'random';
    if (this.randomKey) {
      options.logger?.warn(
        { keySource: 'random' },
        'contact-rewriter: no contact key configured (key option or SIPWAY_CONTACT_KEY); using a random ' +
          'per-process key, so Contact tokens die with this process and other nodes cannot decode them',
      );
    }
  }

  /**
   * Net::SIP's callback contract ({@link RewriteContactCallback}): encode when `force` is true
   * or `contact` has an `@`, else decode `contact` as a token. Delegates to the custom
   * `rewrite` callback when one is configured.
   */
  rewrite(contact: string, legIn: L, legOut?: L | LegSlot<L>, force = false): string | undefined {
    if (this.#custom !== undefined) return this.#custom(contact, legIn, legOut, force);
    if (force || contact.includes('@')) return this.#encode(contact, legIn, legOut);
    return this.#decode(contact, legIn, legOut)?.contact;
  }

  /**
   * Token for `contact` (`user@host:port;uri-params`, or without `user@`) in a packet going
   * from `legIn` to `legOut`. The proxy puts it in the Contact as `sip:TOKEN@<legOut address>`.
   * @throws {ContactRewriterError} `CONTACT_REWRITE_INVALID` when a custom callback returns no `\w+` token;
   *   `CONTACT_LEG_INVALID` when a leg has no key.
   */
  encode(contact: string, legIn: L, legOut: L): string {
    if (this.#custom === undefined) return this.#encode(contact, legIn, legOut);
    const token = this.#custom(contact, legIn, legOut, true);
    if (typeof token !== 'string' || !WORD.test(token)) {
      throw new ContactRewriterError('CONTACT_REWRITE_INVALID', 'ContactRewriter: custom rewrite returned no \\w+ token');
    }
    return token;
  }

  /**
   * Original contact of a token arriving on `legIn` (the leg the token was sent out on, or one
   * with an equivalent contact). Without `legOut` (Request-URI case) the result names the leg
   * the original packet came in on; with `legOut` (Contact in a packet going out on `legOut`)
   * the token must have come in on that leg originally. `undefined` when `user` is not a
   * token of an accepted codec, its MAC fails (other key, leg list or changed bytes), or the
   * direction is wrong.
   */
  decode(user: string, legIn: L, legOut?: L | LegSlot<L>): DecodedContact<L> | undefined {
    if (typeof user !== 'string' || !WORD.test(user)) return undefined;
    if (this.#custom === undefined) {
      const slot = legOut === undefined ? new LegSlot<L>() : legOut;
      const d = this.#decode(user, legIn, slot);
      if (d === undefined) return undefined;
      const leg = slot instanceof LegSlot ? slot.leg : slot;
      return d.issuedAt === undefined ? { contact: d.contact, leg } : { contact: d.contact, leg, issuedAt: d.issuedAt };
    }
    if (legOut instanceof LegSlot) {
      const contact = this.rewrite(user, legIn, legOut, false);
      return contact === undefined ? undefined : { contact, leg: legOut.leg };
    }
    if (legOut !== undefined) {
      const contact = this.rewrite(user, legIn, legOut, false);
      return contact === undefined ? undefined : { contact, leg: legOut };
    }
    const slot = new LegSlot<L>();
    const contact = this.rewrite(user, legIn, slot, false);
    return contact === undefined ? undefined : { contact, leg: slot.leg };
  }

  /** True when `user` has the syntax of a token of an accepted codec (no decryption). */
  isToken(user: string): boolean {
    if (this.#custom !== undefined) return WORD.test(user);
    return this.#crypts.has(user.charAt(0)) && TOKEN_BODY.test(user.slice(1));
  }

  #dict(legs: readonly L[]): Uint8Array {
    const text = legListIdentity(legs.map((leg) => this.#legKey(leg)));
    if (text !== this.#dictText) {
      this.#dictText = text;
      this.#dictBytes = Buffer.from(text, 'utf8');
    }
    return this.#dictBytes;
  }

  /** The leg-list identity behind the timed-token label: what a timed SIV token is MACed with. */
  #timedDict(legs: readonly L[]): Uint8Array {
    this.#dict(legs);
    if (this.#timedDictText !== this.#dictText) {
      this.#timedDictText = this.#dictText;
      this.#timedDictBytes = Buffer.concat([TIMED_LABEL, this.#dictBytes]);
    }
    return this.#timedDictBytes;
  }

  #encode(contact: string, legIn: L, legOut: L | LegSlot<L> | undefined): string {
    const legs = this.#legs();
    const siv = this.#prefix === CONTACT_TOKEN_PREFIX.siv;
    const timed = siv && this.#lifetime > 0;
    const dict = timed ? this.#timedDict(legs) : this.#dict(legs);
    // Timed: u32be(issue time, seconds, rounded down to an eighth of the lifetime) first. Rounding
    // keeps the codec deterministic within that eighth, so a REGISTER refresh through the proxy
    // keeps its Contact and the upstream registrar updates one binding.
    const issued = timed ? Math.floor(this.#now() / 1000 / this.#granularity) * this.#granularity : 0;
    const at = timed ? 4 : 0;
    // u16be indices; −1 (not a leg of the list) becomes 0xFFFF as Perl's pack("n", -1).
    const i = legs.lastIndexOf(legIn as L) & 0xffff;
    const o = (legOut instanceof LegSlot || legOut === undefined ? -1 : legs.lastIndexOf(legOut)) & 0xffff;
    const cacheKey = `${this.#dictText}\u0000${issued}\u0000${i}\u0000${o}\u0000${contact}`;
    // Only the deterministic codec is cached: Net::SIP's draws a fresh seed for every token.
    const cached = siv ? this.#encoded.get(cacheKey) : undefined;
    if (cached !== undefined) return cached;
    const body = Buffer.from(contact, 'utf8');
    const plain = new Uint8Array(at + 4 + body.length);
    if (timed) {
      plain[0] = issued >>> 24;
      plain[1] = (issued >>> 16) & 0xff;
      plain[2] = (issued >>> 8) & 0xff;
      plain[3] = issued & 0xff;
    }
    plain[at] = i >> 8;
    plain[at + 1] = i & 0xff;
    plain[at + 2] = o >> 8;
    plain[at + 3] = o & 0xff;
    plain.set(body, at + 4);
    const token = this.#prefix + base32Encode(this.#crypts.get(this.#prefix)!.encrypt(plain, dict));
    if (siv) remember(this.#encoded, cacheKey, token);
    return token;
  }

  #decode(token: string, legIn: L, legOut: L | LegSlot<L> | undefined): { contact: string; issuedAt: number | undefined } | undefined {
    const prefix = token.charAt(0);
    const crypt = this.#crypts.get(prefix);
    if (crypt === undefined) return undefined;
    // Upper case only, as Net::SIP: the user part is case-sensitive (RFC 3261 §19.1.4).
    const data = TOKEN_BODY.test(token.slice(1)) ? base32Decode(token.slice(1)) : undefined;
    if (data === undefined) return reject(token, 'syntax', legIn);
    const legs = this.#legs();
    const dict = this.#dict(legs);
    const cacheKey = `${this.#dictText}\u0000${token}`;
    let found = this.#decrypted.get(cacheKey);
    if (found === undefined) {
      // A SIV token is timed (MACed under the timed label) or, made before the time limit, untimed.
      const siv = prefix === CONTACT_TOKEN_PREFIX.siv;
      const timedPlain = siv ? crypt.decrypt(data, this.#timedDict(legs)) : undefined;
      const plain = timedPlain ?? crypt.decrypt(data, dict);
      found = plain === undefined ? null : { plain, timed: timedPlain !== undefined };
      remember(this.#decrypted, cacheKey, found);
    }
    if (found === null) return reject(token, 'mac', legIn);
    let plain = found.plain;
    let issuedAt: number | undefined;
    if (found.timed) {
      if (plain.length < 4) return reject(token, 'malformed', legIn);
      const issued = ((plain[0]! << 24) >>> 0) + (plain[1]! << 16) + (plain[2]! << 8) + plain[3]!;
      const now = this.#now() / 1000;
      if (this.#lifetime > 0 && now - issued > this.#lifetime) return reject(token, 'expired', legIn);
      if (issued - now > FUTURE_SKEW) return reject(token, 'future', legIn);
      issuedAt = issued * 1000;
      plain = plain.subarray(4);
    } else if (prefix === CONTACT_TOKEN_PREFIX.siv && this.#now() > this.#untimedUntil) {
      return reject(token, 'expired', legIn);
    }
    if (plain.length < 4) return reject(token, 'malformed', legIn);
    const oldIn = (plain[0]! << 8) | plain[1]!;
    const oldOut = (plain[2]! << 8) | plain[3]!;
    const body = plain.subarray(4);
    if (!isUtf8(body)) return reject(token, 'malformed', legIn);

    // It must come back in through the leg it went out on (or one with the same contact).
    if (legs.lastIndexOf(legIn) !== oldOut && !this.#sameContact(legIn, legs[oldOut])) {
      return reject(token, 'direction', legIn);
    }
    const original = legs[oldIn];
    if (legOut instanceof LegSlot) {
      if (original === undefined) return reject(token, 'unknown-leg', legIn);
      legOut.leg = original;
    } else if (legOut !== undefined) {
      if (legs.lastIndexOf(legOut) !== oldIn && !this.#sameContact(legOut, original)) {
        return reject(token, 'wrong-leg', legIn);
      }
    }
    return { contact: Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'), issuedAt };
  }

  #sameContact(a: L, b: L | undefined): boolean {
    if (b === undefined) return false;
    const ca = this.#legContact(a);
    const cb = this.#legContact(b);
    return ca !== undefined && cb !== undefined && sipUriEqual(ca, cb);
  }
}

/** A token's decrypted bytes, and whether it was a timed one (issue time first). */
interface Decrypted {
  plain: Uint8Array;
  timed: boolean;
}

const CACHE_LIMIT = 4096;

/** Bounded: a flood of distinct contacts or forged tokens empties the cache instead of growing it. */
function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
}

function reject(token: string, reason: ContactRejectReason, legIn: unknown): undefined {
  if (rejectChannel.hasSubscribers) rejectChannel.publish({ token, reason, legIn });
  return undefined;
}

/** `new ContactRewriter(options)`. */
export function createContactRewriter<L extends object = RewriterLeg>(options: ContactRewriterOptions<L>): ContactRewriter<L> {
  return new ContactRewriter<L>(options);
}
