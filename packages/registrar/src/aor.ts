import { formatUri, isSipUri, parseUri } from '@sipway/sip-message';
import type { SipUri, Uri } from '@sipway/sip-message';

/**
 * The canonical form of an address-of-record: `scheme:user@host` — scheme as written (`sip` and
 * `sips` are different AORs), user case-sensitive with only the necessary %-escapes, host
 * lower-cased (IPv6 in brackets), and no password, port, parameters or headers.
 *
 * RFC 3261 §10.3 step 5 asks for URI parameters to go and escapes to be normalised; dropping
 * the port as well means a phone writing `To: <sip:alice@example.com:5060>` and a caller
 * dialling `sip:alice@example.com` reach the same AOR (Net::SIP keys on the port: §10 item 15).
 * Returns undefined for URIs that cannot be an AOR (not sip/sips, no host, unparseable).
 *
 * @see RFC 3261 §10.3 step 5, §19.1.4
 */
export function toAor(uri: string | Uri): string | undefined {
  let parsed: Uri;
  try {
    parsed = typeof uri === 'string' ? parseUri(uri.trim()) : uri;
  } catch {
    return undefined;
  }
  if (!isSipUri(parsed)) return undefined;
  const canonical: SipUri = {
    scheme: parsed.scheme,
    host: parsed.host.toLowerCase(),
    hostType: parsed.hostType,
    params: {},
    headers: {},
    raw: '',
  };
  if (parsed.user !== undefined) canonical.user = parsed.user;
  return formatUri(canonical);
}
