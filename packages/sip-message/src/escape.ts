import { SipParseError } from './errors.js';

const HEX = /^[0-9A-Fa-f]{2}$/;

/** Decodes `%XX` escapes (RFC 3261 §25.1 `escaped`); a malformed escape is a parse error. */
export function unescapeText(text: string, what: string): string {
  if (!text.includes('%')) return text;
  let out = '';
  const bytes: number[] = [];
  let i = 0;
  const flush = () => {
    if (bytes.length > 0) {
      out += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    }
  };
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = text.slice(i + 1, i + 3);
      if (!HEX.test(hex)) throw new SipParseError(`bad %-escape in ${what}`);
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else {
      flush();
      out += text[i];
      i++;
    }
  }
  flush();
  return out;
}
