// Small RTP endpoints for the rtpengine tests: a UDP socket that sends G.711 packets at 20 ms and
// counts what arrives (and from where), plus SDP bodies of a plain phone and of a browser.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

export interface RtpEndpoint {
  readonly address: string;
  readonly port: number;
  /** Packets received, with their source. */
  readonly received: Array<{ seq: number; from: string; port: number }>;
  /** Sends `count` RTP packets (PT 0, 160 bytes) to host:port, one every `intervalMs`. */
  send(host: string, port: number, count: number, intervalMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function rtpEndpoint(address: string): Promise<RtpEndpoint> {
  const socket: Socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const received: RtpEndpoint['received'] = [];
  socket.on('message', (data, rinfo) => {
    if (data.length >= 12 && data[0] === 0x80) received.push({ seq: data.readUInt16BE(2), from: rinfo.address, port: rinfo.port });
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const port = socket.address().port;
  const ssrc = randomBytes(4).readUInt32BE(0);
  return {
    address,
    port,
    received,
    async send(host, to, count, intervalMs = 20) {
      for (let seq = 0; seq < count; seq++) {
        const packet = Buffer.alloc(12 + 160, 0xff);
        packet[0] = 0x80;
        packet[1] = 0; // PCMU
        packet.writeUInt16BE(seq, 2);
        packet.writeUInt32BE((seq * 160) >>> 0, 4);
        packet.writeUInt32BE(ssrc, 8);
        socket.send(packet, to, host);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A plain SIP phone's SDP (RFC 4566): one G.711 audio stream, RTCP implied on port + 1. */
export function plainSdp(address: string, port: number, session = '1'): string {
  const ip = address.includes(':') ? 'IP6' : 'IP4';
  return [
    'v=0',
    `o=phone ${session} ${session} IN ${ip} ${address}`,
    's=call',
    `c=IN ${ip} ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

const FINGERPRINT = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');

/**
 * A browser's SDP as Chrome writes it (JSEP, RFC 8829): BUNDLE, ICE host candidate, DTLS
 * fingerprint, rtcp-mux, `UDP/TLS/RTP/SAVPF`. `setup` is actpass in an offer, active in an answer.
 */
export function webrtcSdp(address: string, port: number, setup: 'actpass' | 'active'): string {
  return [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS stream',
    `m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126`,
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=candidate:1467250027 1 udp 2122260223 ${address} ${port} typ host generation 0 network-id 1`,
    'a=ice-ufrag:Kx9p',
    'a=ice-pwd:7rAw1zZfWnbq3yZ2Tzv0mR4Y',
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${FINGERPRINT}`,
    `a=setup:${setup}`,
    'a=mid:0',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=sendrecv',
    'a=msid:stream track',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:126 telephone-event/8000',
    'a=ssrc:3735928559 cname:browser',
    '',
  ].join('\r\n');
}

/** What a test reads back from an SDP: the first audio stream's address, port, protocol and attributes. */
export interface SdpView {
  readonly address: string;
  readonly port: number;
  readonly protocol: string;
  readonly attributes: string[];
  readonly lines: string[];
}

export function readSdp(sdp: string): SdpView {
  const lines = sdp.split('\r\n').filter((l) => l !== '');
  let address = '';
  let port = -1;
  let protocol = '';
  let inAudio = false;
  const attributes: string[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inAudio = line.startsWith('m=audio ') && port === -1;
      if (inAudio) {
        const parts = line.split(' ');
        port = Number(parts[1]);
        protocol = parts[2] ?? '';
      }
    } else if (line.startsWith('c=') && (port === -1 || inAudio)) {
      address = line.split(' ')[2] ?? '';
    } else if (line.startsWith('a=') && inAudio) {
      attributes.push(line.slice(2));
    }
  }
  return { address, port, protocol, attributes, lines };
}

/** True when one of the attributes starts with `name` (`fingerprint`, `candidate`, `rtcp-mux` …). */
export function hasAttribute(view: SdpView, name: string): boolean {
  return view.attributes.some((a) => a === name || a.startsWith(`${name}:`));
}
