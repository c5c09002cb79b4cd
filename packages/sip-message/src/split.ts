/**
 * Splits a list header value at the commas that separate its elements (RFC 3261 §7.3.1),
 * leaving commas inside quoted strings and `<…>` alone. Empty elements are dropped.
 */
export function splitHeaderValues(text: string): string[] {
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
  const last = start === 0 ? text.trim() : text.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/** Splits `text` at `sep` outside quoted strings. */
export function splitOutsideQuotes(text: string, sep: number): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === sep) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** A parameter list as sipway keeps it: lower-case names in the order written; `null` for a name without value. */
export type Params = Record<string, string | null>;

/**
 * Parses `;name=value;flag` header parameters (the text after the first `;`). Values keep their
 * quotes, so `+sip.instance="<urn:uuid:…>"` serializes back unchanged.
 */
export function parseParams(text: string): Params {
  const params: Params = Object.create(null) as Params;
  if (text.length === 0) return params;
  for (const piece of splitOutsideQuotes(text, 0x3b /* ; */)) {
    const eq = piece.indexOf('=');
    if (eq === -1) {
      const name = piece.trim().toLowerCase();
      if (name.length > 0) params[name] = null;
    } else {
      const name = piece.slice(0, eq).trim().toLowerCase();
      if (name.length > 0) params[name] = piece.slice(eq + 1).trim();
    }
  }
  return params;
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
