const URI = /^(?:(sips?):)?(?:([^\s@]*)@)?(\[[^\]\s]+\](?::\w+)?|[^:\s]+(?::\w+)?|(?:[a-f\d]*:){2}[a-f\d.:]*)$/i;

interface UriParts {
  readonly scheme: string;
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number;
}

function parts(uri: string): UriParts | undefined {
  const bracketed = /<([^>]+)>\s*$/.exec(uri);
  let data = (bracketed ? bracketed[1]! : uri).trim();
  const semi = data.indexOf(';');
  if (semi >= 0) data = data.slice(0, semi);
  const m = URI.exec(data);
  if (!m) return undefined;
  const scheme = (m[1] ?? 'sip').toLowerCase();
  let host = m[3]!.toLowerCase();
  let port = scheme === 'sips' ? 5061 : 5060;
  const p = /:(\d+)$/.exec(host);
  if (p && (host.startsWith('[') || host.indexOf(':') === host.lastIndexOf(':'))) {
    port = Number(p[1]);
    host = host.slice(0, p.index);
  }
  return { scheme, user: m[2], host, port };
}

/**
 * Net::SIP's `sip_uri_eq`, used to tell whether two legs are the same SIP endpoint: equal
 * strings, or same scheme, same user (case-sensitive, RFC 3261 §19.1.4), same host
 * (case-insensitive) and same port, 5060 for `sip` and 5061 for `sips` when absent. URI
 * parameters are ignored. Unlike Net::SIP, two URIs that do not parse are not equal.
 * @see RFC 3261 §19.1.4
 */
export function sipUriEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = parts(a);
  const pb = parts(b);
  if (!pa || !pb) return false;
  return pa.scheme === pb.scheme && pa.user === pb.user && pa.host === pb.host && pa.port === pb.port;
}
