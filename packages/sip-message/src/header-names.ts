/**
 * Header names: RFC 3261 §7.3.3 compact forms (plus those of later RFCs) map to the lower-case
 * long form, which is the key every lookup uses.
 */
const COMPACT: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/** Canonical spelling used when sipway creates a header of that name. */
const LONG_SPELLING: Record<string, string> = {
  via: 'Via',
  from: 'From',
  to: 'To',
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  contact: 'Contact',
  'max-forwards': 'Max-Forwards',
  'record-route': 'Record-Route',
  route: 'Route',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  'www-authenticate': 'WWW-Authenticate',
  'proxy-authenticate': 'Proxy-Authenticate',
  'min-expires': 'Min-Expires',
  'retry-after': 'Retry-After',
};

/**
 * Header fields whose grammar is a comma-separated list (RFC 3261 §7.3.1): several values may
 * share one field line. Authorization-style headers are deliberately absent: their values
 * contain commas but are not lists.
 */
const LIST_HEADERS = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'path',
  'service-route',
  'allow',
  'allow-events',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'alert-info',
  'call-info',
  'content-encoding',
  'content-language',
  'error-info',
  'in-reply-to',
  'warning',
  'p-asserted-identity',
  'p-preferred-identity',
  'security-client',
  'security-server',
  'security-verify',
  'reason',
  'accept-contact',
  'reject-contact',
  'request-disposition',
]);

// The lower-case long names a message is most often asked for; asking with one of these skips
// canonicalization entirely.
const KNOWN_KEYS = new Set<string>([
  ...Object.values(COMPACT),
  ...Object.keys(LONG_SPELLING),
  ...LIST_HEADERS,
  'expires',
  'user-agent',
  'server',
  'authorization',
  'proxy-authorization',
  'date',
  'timestamp',
  'organization',
  'priority',
  'content-disposition',
  'mime-version',
  'privacy',
  'min-se',
  'rseq',
  'rack',
  'sip-etag',
  'sip-if-match',
  'subscription-state',
  'replaces',
  'x-real-ip',
]);

/** Known lower-case long names, for byte-level recognition in the parser. */
export const KNOWN_HEADER_KEYS: ReadonlySet<string> = KNOWN_KEYS;

const cache = new Map<string, string>();
const CACHE_LIMIT = 2048;

/** `'v'` → `'via'`, `'Call-ID'` → `'call-id'`. @see RFC 3261 §7.3.3 */
export function canonicalHeaderName(name: string): string {
  if (KNOWN_KEYS.has(name)) return name;
  let key = cache.get(name);
  if (key !== undefined) return key;
  const lower = name.trim().toLowerCase();
  key = lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
  // Hostile peers send endless distinct names; the cache only speeds up the ones we see often.
  if (cache.size < CACHE_LIMIT) cache.set(name, key);
  return key;
}

/** True when the header's grammar is a comma-separated list. */
export function isListHeader(key: string): boolean {
  return LIST_HEADERS.has(key);
}

/** The spelling sipway writes for a header it creates, e.g. `call-id` → `Call-ID`. */
export function headerSpelling(name: string): string {
  const key = canonicalHeaderName(name);
  const known = LONG_SPELLING[key];
  if (known !== undefined) return known;
  if (name.length > 1 && name !== key) return name;
  return key.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
