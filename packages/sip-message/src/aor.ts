import { formatUri, isSipUri, parseUri } from './uri.js';
import type { SipUri, Uri } from './uri.js';

/**
 * The canonical address-of-record of a SIP URI: `scheme:user@host` — the scheme as written
 * (`sip` and `sips` are different AORs), the user case-sensitive with only the necessary
 * %-escapes (`sip:%61lice@…` is `sip:alice@…`, `sip:a%20b@…` stays `sip:a%20b@…`: RFC 3261
 * §19.1.4 compares user parts after unescaping, and the text must stay a valid URI), the host
 * lower-cased (IPv6 in brackets), and no password, port, parameters or headers.
 *
 * RFC 3261 §10.3 step 5 asks for URI parameters to go and escapes to be normalised; dropping
 * the port as well means a phone writing `To: <sip:alice@example.com:5060>` and a caller
 * dialling `sip:alice@example.com` reach the same AOR (Net::SIP keys on the port: §10 item 15).
 * Undefined for what cannot be an AOR (not sip/sips, unparseable).
 *
 * @see RFC 3261 §10.3 step 5, §19.1.4
 */
export function canonicalAor(uri: string | Uri): string | undefined {
  let parsed: Uri;
  try {
    parsed = typeof uri === 'string' ? parseUri(uri.trim()) : uri;
  } catch {
    return undefined;
  }
  if (!isSipUri(parsed)) return undefined;
  const canonical: SipUri = { scheme: parsed.scheme, host: parsed.host.toLowerCase(), hostType: parsed.hostType, params: {}, headers: {}, raw: '' };
  if (parsed.user !== undefined) canonical.user = parsed.user;
  return formatUri(canonical);
}
