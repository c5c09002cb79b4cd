// Small readers and writers of SIP text, independent of the sipway packages under test.
import { createHash } from 'node:crypto';

/** The status code of a response text. */
export function statusOf(message: string): number {
  return Number(/^SIP\/2\.0 (\d{3})/.exec(message)?.[1]);
}

/** RFC 7616 §3.4.1 digest answer with qop=auth, computed here (not by @sipway/auth). */
export function digestAuthorization(challenge: string, a: { algorithm: 'MD5' | 'SHA-256'; user: string; password: string; method: string; uri: string }): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const realm = /realm="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const opaque = /opaque="([^"]+)"/.exec(challenge)?.[1];
  const h = (s: string) => createHash(a.algorithm === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');
  const ha1 = h(`${a.user}:${realm}:${a.password}`);
  const response = h(`${ha1}:${nonce}:00000001:0a4f113b:auth:${h(`${a.method}:${a.uri}`)}`);
  return (
    `Authorization: Digest username="${a.user}", realm="${realm}", nonce="${nonce}", uri="${a.uri}", response="${response}", ` +
    `algorithm=${a.algorithm}, qop=auth, nc=00000001, cnonce="0a4f113b"${opaque === undefined ? '' : `, opaque="${opaque}"`}`
  );
}
