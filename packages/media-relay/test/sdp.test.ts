import { describe, expect, it } from 'vitest';
import { MediaRelayError, Sdp } from '../src/index.js';

const R4 = { family: 4 as const, address: '192.0.2.10', rtpPort: 40000, rtcpPort: 40001 };
const R6 = { family: 6 as const, address: '2001:db8::10', rtpPort: 40002, rtcpPort: 40003 };

function sdp(lines: string[], eol = '\r\n'): string {
  return lines.join(eol) + eol;
}

describe('Sdp.parse', () => {
  it('reads each m= section: port, proto, the effective c= (media level over session level), a=rtcp and a=rtcp-mux', () => {
    const p = Sdp.parse(
      sdp([
        'v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0',
        'm=audio 5004 RTP/AVP 0', 'a=rtcp:5009 IN IP4 10.0.0.9',
        'm=video 5006 RTP/AVP 96', 'c=IN IP6 2001:db8::1', 'a=rtcp-mux',
        'm=application 0 UDP/BFCP *',
      ]),
    );
    expect(p.media).toEqual([
      { index: 0, type: 'audio', port: 5004, proto: 'RTP/AVP', connection: { family: 4, address: '10.0.0.1' }, rtcpPort: 5009, rtcpAddress: '10.0.0.9', rtcpMux: false },
      { index: 1, type: 'video', port: 5006, proto: 'RTP/AVP', connection: { family: 6, address: '2001:db8::1' }, rtcpPort: undefined, rtcpAddress: undefined, rtcpMux: true },
      { index: 2, type: 'application', port: 0, proto: 'UDP/BFCP', connection: { family: 4, address: '10.0.0.1' }, rtcpPort: undefined, rtcpAddress: undefined, rtcpMux: false },
    ]);
  });

  it.each([
    ['not SDP', 'hello'],
    ['a line that is not type=value', 'v=0\r\nbogus\r\n'],
    ['a malformed m= line', 'v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio x RTP/AVP 0\r\n'],
    ['a port above 65535', 'v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 70000 RTP/AVP 0\r\n'],
    ['a host name in c=', 'v=0\r\nc=IN IP4 pbx.example.com\r\nm=audio 4000 RTP/AVP 0\r\n'],
    ['an IPv6 address labelled IP4', 'v=0\r\nc=IN IP4 ::1\r\nm=audio 4000 RTP/AVP 0\r\n'],
    ['a stream without any c=', 'v=0\r\nm=audio 4000 RTP/AVP 0\r\n'],
    ['a malformed a=rtcp', 'v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:abc\r\n'],
  ])('refuses %s with MEDIA_BAD_SDP (status 503)', (_name, text) => {
    let caught: unknown;
    try {
      Sdp.parse(text);
    } catch (error) {
      caught = error;
    }
    expect(MediaRelayError.isInstance(caught)).toBe(true);
    expect((caught as MediaRelayError).code).toBe('MEDIA_BAD_SDP');
    expect((caught as MediaRelayError).status).toBe(503);
  });
});

describe('Sdp.rewrite', () => {
  it('changes the session c= a stream inherits, the m= port and a=rtcp; every other byte stays', () => {
    const input = sdp(['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=call', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 5004 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=rtcp:5005', 'a=fmtp:101 0-15', 'a=sendrecv']);
    const out = Sdp.parse(input).rewrite([R4]);
    expect(out).toBe(sdp(['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=call', 'c=IN IP4 192.0.2.10', 't=0 0', 'm=audio 40000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=rtcp:40001', 'a=fmtp:101 0-15', 'a=sendrecv']));
  });

  it('keeps bare LF line endings and a missing final line ending as they were', () => {
    const input = 'v=0\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\na=ptime:20';
    expect(Sdp.parse(input).rewrite([R4])).toBe('v=0\nc=IN IP4 192.0.2.10\nt=0 0\nm=audio 40000 RTP/AVP 0\na=ptime:20');
  });

  it('rewrites media-level c= lines, several m= lines, IPv4 to IPv6, and the address of a=rtcp (RFC 3605)', () => {
    const input = sdp(['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 't=0 0', 'm=audio 5004 RTP/AVP 0', 'c=IN IP4 10.0.0.1', 'a=rtcp:5005 IN IP4 10.0.0.1', 'm=video 5006 RTP/AVP 96', 'c=IN IP4 10.0.0.2', 'a=rtcp-mux']);
    const out = Sdp.parse(input).rewrite([R6, R4]);
    expect(out).toBe(sdp(['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 't=0 0', 'm=audio 40002 RTP/AVP 0', 'c=IN IP6 2001:db8::10', 'a=rtcp:40003 IN IP6 2001:db8::10', 'm=video 40000 RTP/AVP 96', 'c=IN IP4 192.0.2.10', 'a=rtcp-mux']));
  });

  it('leaves a disabled stream (port 0) and a stream without replacement alone', () => {
    const input = sdp(['v=0', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 0 RTP/AVP 0', 'm=video 5006 RTP/AVP 96', 'c=IN IP4 10.0.0.2']);
    const out = Sdp.parse(input).rewrite([R4, undefined]);
    expect(out).toBe(input);
  });

  it('keeps a hold address (c=0.0.0.0, RFC 3264 §8.4) but moves the port', () => {
    const input = sdp(['v=0', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 5004 RTP/AVP 0', 'a=sendonly']);
    expect(Sdp.parse(input).rewrite([R4])).toBe(sdp(['v=0', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=sendonly']));
  });

  it('keeps the session c= when every relayed stream has its own c=', () => {
    const input = sdp(['v=0', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 5004 RTP/AVP 0', 'c=IN IP4 10.0.0.3']);
    expect(Sdp.parse(input).rewrite([R4])).toBe(sdp(['v=0', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'c=IN IP4 192.0.2.10']));
  });
});
