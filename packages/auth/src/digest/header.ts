/**
 * Parsing credentials (Authorization, Proxy-Authorization) and formatting challenges
 * (WWW-Authenticate, Proxy-Authenticate).
 * @see RFC 3261 §25.1 (challenge, credentials grammar), RFC 2617 §3.2
 */

/** One parsed credentials value: the scheme and its auth-params, names lower-cased. */
export interface Credentials {
  scheme: string;
  params: Map<string, string>;
}

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/**
 * Parses `Digest username="a", realm="r", nc=00000001, …`. Quoted values are unquoted (with
 * backslash escapes). Returns undefined when the value is not `scheme param=value, …`.
 * Liberal where RFC 3261 allows: any whitespace around `=` and `,`, empty elements skipped.
 */
export function parseCredentials(text: string): Credentials | undefined {
  let i = 0;
  const n = text.length;
  while (i < n && isWs(text[i])) i++;
  const schemeStart = i;
  while (i < n && !isWs(text[i]) && text[i] !== ',') i++;
  const scheme = text.slice(schemeStart, i);
  if (scheme.length === 0 || scheme.includes('=')) return undefined;
  const params = new Map<string, string>();
  for (;;) {
    while (i < n && (isWs(text[i]) || text[i] === ',')) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && text[i] !== '=' && text[i] !== ',' && !isWs(text[i])) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    while (i < n && isWs(text[i])) i++;
    if (text[i] !== '=' || name.length === 0) return undefined;
    i++;
    while (i < n && isWs(text[i])) i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i] as string;
        if (c === '\\' && i + 1 < n) {
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return undefined;
    } else {
      const valueStart = i;
      while (i < n && text[i] !== ',' && !isWs(text[i])) i++;
      value = text.slice(valueStart, i);
    }
    // A repeated parameter makes the credentials ambiguous: refuse them.
    if (params.has(name)) return undefined;
    params.set(name, value);
    while (i < n && isWs(text[i])) i++;
    if (i < n && text[i] !== ',') return undefined;
  }
  return { scheme, params };
}

/** Quotes a value as a quoted-string (RFC 3261 §25.1). */
export function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The parts of one Digest challenge. */
export interface ChallengeParts {
  realm: string;
  nonce: string;
  algorithm: string;
  qop: boolean;
  stale: boolean;
  opaque?: string | undefined;
  domain?: string | undefined;
}

/**
 * `Digest realm="…", nonce="…", algorithm=SHA-256, qop="auth"[, opaque="…"][, stale=TRUE]`.
 * algorithm and stale are tokens, qop-options a quoted list (RFC 2617 §3.2.1).
 */
export function formatChallenge(c: ChallengeParts): string {
  let s = `Digest realm=${quote(c.realm)}`;
  if (c.domain !== undefined) s += `, domain=${quote(c.domain)}`;
  s += `, nonce=${quote(c.nonce)}`;
  if (c.opaque !== undefined) s += `, opaque=${quote(c.opaque)}`;
  if (c.stale) s += ', stale=TRUE';
  s += `, algorithm=${c.algorithm}`;
  if (c.qop) s += ', qop="auth"';
  return s;
}
