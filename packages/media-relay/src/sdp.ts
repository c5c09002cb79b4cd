/**
 * A small exact SDP reader and rewriter: it finds the connection addresses and transport ports
 * of each media description and replaces only those; every other line (and every line ending)
 * goes out byte for byte as it came in.
 *
 * @see RFC 4566 §5 (c=, m=), RFC 3605 (a=rtcp), RFC 5761 (a=rtcp-mux), RFC 3264 §8.4 (0.0.0.0 hold), §6 (port 0)
 */
import { isIP } from 'node:net';
import { MediaRelayError } from './errors.js';

/** A c= line's address. */
export interface SdpConnection {
  family: 4 | 6;
  address: string;
}

/** One m= section. */
export interface SdpMedia {
  /** Position among the m= lines (0-based): the stream's identity across offer and answer (RFC 3264 §6). */
  index: number;
  /** `audio`, `video`, … */
  type: string;
  /** Transport port; 0 means the stream is disabled (RFC 3264 §6) and is left alone. */
  port: number;
  /** `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, … */
  proto: string;
  /** Effective connection: the media-level c= or else the session-level one. */
  connection: SdpConnection | undefined;
  /** a=rtcp port (RFC 3605), when given. */
  rtcpPort: number | undefined;
  /** a=rtcp address, when given. */
  rtcpAddress: string | undefined;
  /** a=rtcp-mux present (RFC 5761). */
  rtcpMux: boolean;
}

/** Where one relayed stream is to be announced. */
export interface SdpReplacement {
  family: 4 | 6;
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

interface Line {
  text: string;
  eol: string;
}

/** A parsed SDP body, ready to be rewritten. */
export class Sdp {
  readonly media: readonly SdpMedia[];
  readonly sessionConnection: SdpConnection | undefined;
  readonly #lines: Line[];
  /** Line index of each m= and of the first line after its section. */
  readonly #sections: Array<{ start: number; end: number }>;
  readonly #sessionC: number;

  private constructor(lines: Line[], media: SdpMedia[], sections: Array<{ start: number; end: number }>, sessionC: number, sessionConnection: SdpConnection | undefined) {
    this.#lines = lines;
    this.media = media;
    this.#sections = sections;
    this.#sessionC = sessionC;
    this.sessionConnection = sessionConnection;
  }

  /** Parses an SDP body; throws `MEDIA_BAD_SDP` when it is not SDP. */
  static parse(text: string): Sdp {
    const lines: Line[] = [];
    let at = 0;
    while (at < text.length) {
      const nl = text.indexOf('\n', at);
      const end = nl === -1 ? text.length : nl;
      const cr = end > at && text.charCodeAt(end - 1) === 13;
      lines.push({ text: text.slice(at, cr ? end - 1 : end), eol: nl === -1 ? '' : cr ? '\r\n' : '\n' });
      at = nl === -1 ? text.length : nl + 1;
    }
    if (lines.length === 0 || !lines[0]!.text.startsWith('v=')) throw bad('does not start with v=');
    const media: SdpMedia[] = [];
    const sections: Array<{ start: number; end: number }> = [];
    let sessionC = -1;
    let sessionConnection: SdpConnection | undefined;
    let current: SdpMedia | undefined;
    for (let i = 0; i < lines.length; i++) {
      const t = lines[i]!.text;
      if (t === '') continue;
      if (t.length < 2 || t[1] !== '=') throw bad(`line ${i + 1} is not type=value`);
      const type = t[0];
      if (type === 'm') {
        const m = /^m=(\S+) (\d+)(?:\/\d+)? (\S+)(?: .*)?$/.exec(t);
        if (m === null) throw bad(`line ${i + 1}: malformed m= line`);
        const port = Number(m[2]);
        if (port > 65535) throw bad(`line ${i + 1}: port out of range`);
        if (sections.length > 0) sections[sections.length - 1]!.end = i;
        sections.push({ start: i, end: lines.length });
        current = { index: media.length, type: m[1]!, port, proto: m[3]!, connection: sessionConnection, rtcpPort: undefined, rtcpAddress: undefined, rtcpMux: false };
        media.push(current);
      } else if (type === 'c') {
        const c = connection(t, i);
        if (current === undefined) {
          sessionC = i;
          sessionConnection = c;
        } else {
          current.connection = c;
        }
      } else if (type === 'a' && current !== undefined) {
        if (t.startsWith('a=rtcp:')) {
          const r = /^a=rtcp:(\d+)(?: IN IP([46]) (\S+))?\s*$/.exec(t);
          if (r === null) throw bad(`line ${i + 1}: malformed a=rtcp`);
          current.rtcpPort = Number(r[1]);
          current.rtcpAddress = r[3];
        } else if (t === 'a=rtcp-mux' || t.startsWith('a=rtcp-mux ')) {
          current.rtcpMux = true;
        }
      }
    }
    // A session c= seen after the first m= never happens; a stream without any c= is not SDP (RFC 4566 §5.7).
    for (const m of media) if (m.port !== 0 && m.connection === undefined) throw bad(`m= line ${m.index + 1} has no c= line`);
    return new Sdp(lines, media, sections, sessionC, sessionConnection);
  }

  /**
   * The body with each stream `i` that has `replacements[i]` announced there: its m= port, its
   * c= (media level, or the session level one it inherits) and its a=rtcp. Streams held with an
   * unspecified address (0.0.0.0, RFC 3264 §8.4) keep it; disabled streams (port 0) stay as they are.
   */
  rewrite(replacements: ReadonlyArray<SdpReplacement | undefined>): string {
    const out = this.#lines.map((l) => l.text);
    let sessionTarget: SdpReplacement | undefined;
    for (const m of this.media) {
      const r = replacements[m.index];
      if (r === undefined || m.port === 0) continue;
      const { start, end } = this.#sections[m.index]!;
      out[start] = out[start]!.replace(/^(m=\S+ )\d+/, `$1${r.rtpPort}`);
      let ownC = false;
      for (let i = start + 1; i < end; i++) {
        const t = out[i]!;
        if (t.startsWith('c=')) {
          ownC = true;
          if (!unspecified(m.connection)) out[i] = cLine(r);
        } else if (t.startsWith('a=rtcp:')) {
          out[i] = m.rtcpAddress === undefined ? `a=rtcp:${r.rtcpPort}` : `a=rtcp:${r.rtcpPort} IN IP${r.family} ${r.address}`;
        }
      }
      if (!ownC && !unspecified(this.sessionConnection)) sessionTarget ??= r;
    }
    if (sessionTarget !== undefined && this.#sessionC >= 0) out[this.#sessionC] = cLine(sessionTarget);
    let text = '';
    for (let i = 0; i < out.length; i++) text += out[i]! + this.#lines[i]!.eol;
    return text;
  }
}

/** True for a c= of 0.0.0.0 or :: (the RFC 2543 hold, RFC 3264 §8.4). */
export function unspecified(c: SdpConnection | undefined): boolean {
  return c !== undefined && (c.address === '0.0.0.0' || c.address === '::');
}

/** A relay address is unicast: a multicast TTL or address count of the original is not kept. */
function cLine(r: SdpReplacement): string {
  return `c=IN IP${r.family} ${r.address}`;
}

function connection(t: string, i: number): SdpConnection {
  const m = /^c=IN IP([46]) ([^\s/]+)(?:\/\S+)?\s*$/.exec(t);
  if (m === null) throw bad(`line ${i + 1}: malformed c= line (expected c=IN IP4|IP6 address)`);
  const family = m[1] === '6' ? 6 : 4;
  const address = m[2]!;
  // Host names are allowed by RFC 4566 but a relay needs an address to send to.
  if (isIP(address) !== family) throw bad(`line ${i + 1}: ${address} is not an IPv${family} address`);
  return { family, address };
}

function bad(detail: string): MediaRelayError {
  return new MediaRelayError('MEDIA_BAD_SDP', `bad SDP: ${detail}`);
}
