/**
 * Splits a list header value at the commas that separate its elements (RFC 3261 §7.3.1),
 * leaving commas inside quoted strings and `<…>` alone. Empty elements are dropped.
 */
export function splitHeaderValues(text: string): string[] {
  // Most fields hold one value: no comma, nothing to scan.
  if (text.indexOf(',') === -1) {
    const t = text.trim();
    return t.length === 0 ? [] : [t];
  }
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c /* < */) inAngle = true;
    else if (c === 0x3e /* > */) inAngle = false;
    else if (c === 0x2c /* , */ && !inAngle) {
      const part = text.slice(start, i).trim();
      if (part.length > 0) out.push(part);
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/** A parameter list as sipway keeps it: lower-case names in the order written; `null` for a name without value. */
export type Params = Record<string, string | null>;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function lowerName(text: string, s: number, e: number): string {
  const name = text.slice(s, e);
  // Parameter names are case-insensitive (RFC 3261 §7.3.1); most arrive lower-case already.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}

/**
 * Scans `;name=value;flag` parameters of `text` from `from` (at or before the first `;`) to the
 * end, whitespace allowed around `;` and `=`. Values keep their quotes, so
 * `+sip.instance="<urn:uuid:…>"` serializes back unchanged. Returns undefined on junk outside a
 * parameter (a character that is neither `;` nor whitespace where a `;` must come).
 */
export function scanParams(text: string, from: number, into: Params): Params | undefined {
  const n = text.length;
  let i = from;
  for (;;) {
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (i >= n) return into;
    if (text.charCodeAt(i) !== 0x3b /* ; */) return undefined;
    i++;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    const ns = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x3d /* = */ || c === 0x3b || isWs(c)) break;
      i++;
    }
    const ne = i;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    let value: string | null = null;
    if (i < n && text.charCodeAt(i) === 0x3d) {
      i++;
      while (i < n && isWs(text.charCodeAt(i))) i++;
      const vs = i;
      if (i < n && text.charCodeAt(i) === 0x22) {
        i++;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === 0x5c) i += 2;
          else if (c === 0x22) {
            i++;
            break;
          } else i++;
        }
        if (i > n) i = n;
      } else {
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === 0x3b || isWs(c)) break;
          i++;
        }
      }
      value = text.slice(vs, i);
    }
    if (ne > ns) {
      const name = lowerName(text, ns, ne);
      // A hostile '__proto__' must not reach the object's prototype slot.
      if (name !== '__proto__') into[name] = value;
    }
  }
}

/**
 * Parses `name=value;flag` header parameters (the text after the first `;`). Values keep their
 * quotes.
 */
export function parseParams(text: string): Params {
  return scanParams(`;${text}`, 0, {}) ?? {};
}

/** `;a=1;b` from a parameter record. */
export function formatParams(params: Params): string {
  let s = '';
  for (const name in params) {
    const v = params[name];
    s += v === null || v === undefined ? `;${name}` : `;${name}=${v}`;
  }
  return s;
}

/** Removes the quotes and backslash escapes of a quoted-string (RFC 3261 §25.1). */
export function unquote(text: string): string {
  if (text.length < 2 || text.charCodeAt(0) !== 0x22 || text.charCodeAt(text.length - 1) !== 0x22) return text;
  const inner = text.slice(1, -1);
  return inner.includes('\\') ? inner.replace(/\\(.)/g, '$1') : inner;
}

/**
 * Where the parameters of `text` are, found without building anything: after a call, `PARAM_POS`
 * holds `count` quadruples (nameStart, nameEnd, valueStart, valueEnd; valueStart -1 for a name
 * without value). Returns the count, or -1 on junk where a `;` must come. Readers take the few
 * parameters they need and build the whole record only when asked.
 */
export const PARAM_POS: number[] = [];

export function findParams(text: string, from: number): number {
  const n = text.length;
  let i = from;
  let count = 0;
  // Whitespace and control characters (<= 0x20) end names and values; LWS is allowed around
  // ';' and '=' (RFC 3261 §25.1 SEMI, EQUAL).
  for (;;) {
    while (i < n && text.charCodeAt(i) <= 0x20) i++;
    if (i >= n) return count;
    if (text.charCodeAt(i) !== 0x3b /* ; */) return -1;
    i++;
    while (i < n && text.charCodeAt(i) <= 0x20) i++;
    const ns = i;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c <= 0x20 || c === 0x3d /* = */ || c === 0x3b) break;
    }
    const ne = i;
    while (i < n && text.charCodeAt(i) <= 0x20) i++;
    let vs = -1;
    let ve = -1;
    if (i < n && text.charCodeAt(i) === 0x3d) {
      i++;
      while (i < n && text.charCodeAt(i) <= 0x20) i++;
      vs = i;
      if (i < n && text.charCodeAt(i) === 0x22) {
        i++;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === 0x5c) i += 2;
          else if (c === 0x22) {
            i++;
            break;
          } else i++;
        }
        if (i > n) i = n;
      } else {
        for (; i < n; i++) {
          const c = text.charCodeAt(i);
          if (c <= 0x20 || c === 0x3b) break;
        }
      }
      ve = i;
    }
    if (ne > ns) {
      const k = count * 4;
      PARAM_POS[k] = ns;
      PARAM_POS[k + 1] = ne;
      PARAM_POS[k + 2] = vs;
      PARAM_POS[k + 3] = ve;
      count++;
    }
  }
}

/** True when text[start, end) is `lowerName`, compared case-insensitively. */
export function nameIs(text: string, start: number, end: number, lowerName: string): boolean {
  if (end - start !== lowerName.length) return false;
  for (let i = 0; i < lowerName.length; i++) {
    let c = text.charCodeAt(start + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lowerName.charCodeAt(i)) return false;
  }
  return true;
}
