// Benchmark corpus: realistic SIP messages as phones, Asterisk and Kamailio send them.
// Each message is built from lines joined with CRLF; Content-Length is computed from the
// body bytes so that every message is exactly what would sit in one UDP datagram.

const CRLF = '\r\n';

/**
 * @param {string[]} head start line and header lines, without Content-Length
 * @param {string[] | null} bodyLines body lines (joined with CRLF, with a final CRLF) or null
 * @param {string} clName how Content-Length is spelled ('Content-Length' or 'l')
 */
function build(head, bodyLines, clName = 'Content-Length') {
  const body = bodyLines ? bodyLines.join(CRLF) + CRLF : '';
  const lines = [...head, `${clName}: ${Buffer.byteLength(body)}`];
  return Buffer.from(lines.join(CRLF) + CRLF + CRLF + body, 'utf8');
}

const inviteSdp = [
  'v=0',
  'o=- 20518 0 IN IP4 192.168.1.47',
  's=SDP data',
  'c=IN IP4 192.168.1.47',
  't=0 0',
  'm=audio 11796 RTP/AVP 0 8 18 9 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
];

const answerSdp = [
  'v=0',
  'o=- 1722331408 1722331409 IN IP4 203.0.113.20',
  's=Asterisk',
  'c=IN IP4 203.0.113.20',
  't=0 0',
  'm=audio 17244 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
];

/**
 * The corpus. `expect` holds what every adapter must read from the message (the correctness
 * guard compares each adapter's values with these).
 */
export const corpus = [
  {
    name: 'INVITE (Yealink phone, SDP, pre-loaded Route)',
    bytes: build(
      [
        'INVITE sip:+4930123456@sip.example.com;user=phone SIP/2.0',
        'Via: SIP/2.0/UDP 192.168.1.47:5060;branch=z9hG4bK1598263841;rport',
        'Route: <sip:edge1.example.com;lr>',
        'From: "Alice Smith" <sip:alice@sip.example.com>;tag=1683437012',
        'To: <sip:+4930123456@sip.example.com;user=phone>',
        'Call-ID: 0_2735591851@192.168.1.47',
        'CSeq: 2 INVITE',
        'Contact: <sip:alice@192.168.1.47:5060>',
        'Content-Type: application/sdp',
        'Authorization: Digest username="alice", realm="sip.example.com", nonce="Y8f3aWPH8j2RmOb5mtmc7mZ1HeSybFJf", uri="sip:+4930123456@sip.example.com;user=phone", response="2f0b3f8d0e8b36d1a5e8b7c69f1a4b1e", algorithm=MD5',
        'Allow: INVITE, INFO, PRACK, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REGISTER, SUBSCRIBE, REFER, PUBLISH, UPDATE, MESSAGE',
        'Max-Forwards: 70',
        'User-Agent: Yealink SIP-T46S 66.86.0.15',
        'Allow-Events: talk,hold,conference,refer,check-sync',
        'Supported: replaces,timer,100rel',
      ],
      inviteSdp,
    ),
    expect: {
      callId: '0_2735591851@192.168.1.47', cseq: 2, method: 'INVITE', branch: 'z9hG4bK1598263841',
      fromTag: '1683437012', toTag: undefined, maxForwards: 70, routes: 1,
      contact: 'sip:alice@192.168.1.47:5060', ruriHost: 'sip.example.com',
    },
  },
  {
    name: 'REGISTER (Polycom phone, Authorization)',
    bytes: build(
      [
        'REGISTER sip:sip.example.com SIP/2.0',
        'Via: SIP/2.0/UDP 10.0.0.23:5060;branch=z9hG4bK7f2c1a4e3D8B1C2A;rport',
        'From: "Bob" <sip:bob@sip.example.com>;tag=9E1C5B6A-3D4F2A1B',
        'To: <sip:bob@sip.example.com>',
        'CSeq: 3 REGISTER',
        'Call-ID: 5b1d9c7e-a2f34e01-8c3b2d41@10.0.0.23',
        'Contact: <sip:bob@10.0.0.23:5060;transport=udp>;methods="INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, MESSAGE, SUBSCRIBE, NOTIFY, PRACK, UPDATE, REFER";+sip.instance="<urn:uuid:00000000-0000-1000-8000-0004F2A1B2C3>";reg-id=1;expires=3600',
        'User-Agent: PolycomVVX-VVX_411-UA/6.4.3.5018',
        'Accept-Language: en',
        'Authorization: Digest username="bob", realm="sip.example.com", nonce="ZkG0mWZBs22qvX7pW3QfNwaE9pJvj0Lm", qop=auth, cnonce="8d5a3fbb", nc=00000001, opaque="", uri="sip:sip.example.com", response="6c1e8dd2b5c24f1a0e3f7a9b8c2d4e61", algorithm=MD5',
        'Max-Forwards: 70',
        'Expires: 3600',
      ],
      null,
    ),
    expect: {
      callId: '5b1d9c7e-a2f34e01-8c3b2d41@10.0.0.23', cseq: 3, method: 'REGISTER',
      branch: 'z9hG4bK7f2c1a4e3D8B1C2A', fromTag: '9E1C5B6A-3D4F2A1B', toTag: undefined,
      maxForwards: 70, routes: 0, contact: 'sip:bob@10.0.0.23:5060;transport=udp',
      ruriHost: 'sip.example.com',
    },
  },
  {
    name: '200 OK to INVITE (Asterisk, 3 Vias, Record-Routes, SDP)',
    bytes: build(
      [
        'SIP/2.0 200 OK',
        'Via: SIP/2.0/UDP 198.51.100.10;branch=z9hG4bK3f5a.6a1d3e2b0c7a8f9e5d4c3b2a10000000.0',
        'Via: SIP/2.0/UDP 198.51.100.5:5060;received=198.51.100.5;branch=z9hG4bKcydzigwkX;rport=5060',
        'Via: SIP/2.0/UDP 192.168.1.47:5060;received=203.0.113.77;branch=z9hG4bK1598263841;rport=40213',
        'Record-Route: <sip:198.51.100.10;lr;ftag=1683437012;did=4e2.b3c1>',
        'Record-Route: <sip:198.51.100.5;lr>',
        'From: "Alice Smith" <sip:alice@sip.example.com>;tag=1683437012',
        'To: <sip:+4930123456@sip.example.com;user=phone>;tag=as5f2c8a1e',
        'Call-ID: 0_2735591851@192.168.1.47',
        'CSeq: 2 INVITE',
        'Server: Asterisk PBX 18.20.0',
        'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE',
        'Supported: replaces, timer',
        'Session-Expires: 1800;refresher=uas',
        'Contact: <sip:+4930123456@203.0.113.20:5060>',
        'Content-Type: application/sdp',
      ],
      answerSdp,
    ),
    expect: {
      callId: '0_2735591851@192.168.1.47', cseq: 2, method: 'INVITE',
      branch: 'z9hG4bK3f5a.6a1d3e2b0c7a8f9e5d4c3b2a10000000.0', fromTag: '1683437012',
      toTag: 'as5f2c8a1e', maxForwards: undefined, routes: 0,
      contact: 'sip:+4930123456@203.0.113.20:5060', ruriHost: undefined,
    },
  },
  {
    name: '180 Ringing (Asterisk, 3 Vias, Record-Routes)',
    bytes: build(
      [
        'SIP/2.0 180 Ringing',
        'Via: SIP/2.0/UDP 198.51.100.10;branch=z9hG4bK3f5a.6a1d3e2b0c7a8f9e5d4c3b2a10000000.0',
        'Via: SIP/2.0/UDP 198.51.100.5:5060;received=198.51.100.5;branch=z9hG4bKcydzigwkX;rport=5060',
        'Via: SIP/2.0/UDP 192.168.1.47:5060;received=203.0.113.77;branch=z9hG4bK1598263841;rport=40213',
        'Record-Route: <sip:198.51.100.10;lr;ftag=1683437012;did=4e2.b3c1>',
        'Record-Route: <sip:198.51.100.5;lr>',
        'From: "Alice Smith" <sip:alice@sip.example.com>;tag=1683437012',
        'To: <sip:+4930123456@sip.example.com;user=phone>;tag=as5f2c8a1e',
        'Call-ID: 0_2735591851@192.168.1.47',
        'CSeq: 2 INVITE',
        'Server: Asterisk PBX 18.20.0',
        'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE',
        'Supported: replaces, timer',
        'Contact: <sip:+4930123456@203.0.113.20:5060>',
      ],
      null,
    ),
    expect: {
      callId: '0_2735591851@192.168.1.47', cseq: 2, method: 'INVITE',
      branch: 'z9hG4bK3f5a.6a1d3e2b0c7a8f9e5d4c3b2a10000000.0', fromTag: '1683437012',
      toTag: 'as5f2c8a1e', maxForwards: undefined, routes: 0,
      contact: 'sip:+4930123456@203.0.113.20:5060', ruriHost: undefined,
    },
  },
  {
    name: 'ACK in dialog (phone, 2 Routes)',
    bytes: build(
      [
        'ACK sip:+4930123456@203.0.113.20:5060 SIP/2.0',
        'Via: SIP/2.0/UDP 192.168.1.47:5060;branch=z9hG4bK2083017511;rport',
        'Route: <sip:198.51.100.5;lr>',
        'Route: <sip:198.51.100.10;lr;ftag=1683437012;did=4e2.b3c1>',
        'From: "Alice Smith" <sip:alice@sip.example.com>;tag=1683437012',
        'To: <sip:+4930123456@sip.example.com;user=phone>;tag=as5f2c8a1e',
        'Call-ID: 0_2735591851@192.168.1.47',
        'CSeq: 2 ACK',
        'Contact: <sip:alice@192.168.1.47:5060>',
        'Max-Forwards: 70',
        'User-Agent: Yealink SIP-T46S 66.86.0.15',
      ],
      null,
    ),
    expect: {
      callId: '0_2735591851@192.168.1.47', cseq: 2, method: 'ACK', branch: 'z9hG4bK2083017511',
      fromTag: '1683437012', toTag: 'as5f2c8a1e', maxForwards: 70, routes: 2,
      contact: 'sip:alice@192.168.1.47:5060', ruriHost: '203.0.113.20',
    },
  },
  {
    name: 'BYE in dialog (Asterisk via Kamailio, Route list in one line)',
    bytes: build(
      [
        'BYE sip:alice@203.0.113.77:40213 SIP/2.0',
        'Via: SIP/2.0/UDP 203.0.113.20:5060;rport;branch=z9hG4bKPj4a6c1f0e-8b2d-4c3a-9e1f-7d6b5a4c3b2a',
        'From: <sip:+4930123456@sip.example.com>;tag=as5f2c8a1e',
        'To: "Alice Smith" <sip:alice@sip.example.com>;tag=1683437012',
        'Call-ID: 0_2735591851@192.168.1.47',
        'CSeq: 102 BYE',
        'Route: <sip:198.51.100.10;lr;ftag=1683437012;did=4e2.b3c1>, <sip:198.51.100.5;lr>',
        'Max-Forwards: 70',
        'User-Agent: Asterisk PBX 18.20.0',
        'Reason: Q.850;cause=16;text="Normal call clearing"',
      ],
      null,
    ),
    expect: {
      callId: '0_2735591851@192.168.1.47', cseq: 102, method: 'BYE',
      branch: 'z9hG4bKPj4a6c1f0e-8b2d-4c3a-9e1f-7d6b5a4c3b2a', fromTag: 'as5f2c8a1e',
      toTag: '1683437012', maxForwards: 70, routes: 2, contact: undefined,
      ruriHost: '203.0.113.77',
    },
  },
  {
    name: 'OPTIONS keep-alive (Kamailio dispatcher)',
    bytes: build(
      [
        'OPTIONS sip:203.0.113.20:5060 SIP/2.0',
        'Via: SIP/2.0/UDP 198.51.100.10;branch=z9hG4bK8c3e.1b7f0a2d000000000000000000000000.0',
        'To: <sip:203.0.113.20:5060>',
        'From: <sip:dispatcher@localhost>;tag=b6a6e2a1-7b9d-4c27-9a84-2a0e0b9b4c51',
        'CSeq: 10 OPTIONS',
        'Call-ID: 5a9c2b7e1d3f4a6b-21034@198.51.100.10',
        'Max-Forwards: 70',
        'User-Agent: kamailio (5.7.4 (x86_64/linux))',
      ],
      null,
    ),
    expect: {
      callId: '5a9c2b7e1d3f4a6b-21034@198.51.100.10', cseq: 10, method: 'OPTIONS',
      branch: 'z9hG4bK8c3e.1b7f0a2d000000000000000000000000.0',
      fromTag: 'b6a6e2a1-7b9d-4c27-9a84-2a0e0b9b4c51', toTag: undefined, maxForwards: 70,
      routes: 0, contact: undefined, ruriHost: '203.0.113.20',
    },
  },
  {
    name: 'INVITE in compact form (softphone, SDP)',
    bytes: build(
      [
        'INVITE sip:bob@sip.example.com SIP/2.0',
        'v: SIP/2.0/UDP 192.168.1.61:52764;branch=z9hG4bK-524287-1---8f0e1c3b5d7a9c2e;rport',
        'Max-Forwards: 70',
        'm: <sip:carol@192.168.1.61:52764;transport=UDP>',
        't: <sip:bob@sip.example.com>',
        'f: "Carol" <sip:carol@sip.example.com>;tag=5d2a8c1f',
        'i: NDM3ZjE1YWQ5YTQ0ZWE4ZDY2NmQ0NzU4NTQ0ZWE1Yjk.',
        'CSeq: 1 INVITE',
        'Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE',
        'c: application/sdp',
        'k: replaces, norefersub, extended-refer, timer, X-cisco-serviceuri',
        'User-Agent: Z 5.6.4 v2.10.20.4',
        'Allow-Events: presence, kpml, talk',
      ],
      inviteSdp.map((l) => l.replaceAll('192.168.1.47', '192.168.1.61')),
      'l',
    ),
    expect: {
      callId: 'NDM3ZjE1YWQ5YTQ0ZWE4ZDY2NmQ0NzU4NTQ0ZWE1Yjk.', cseq: 1, method: 'INVITE',
      branch: 'z9hG4bK-524287-1---8f0e1c3b5d7a9c2e', fromTag: '5d2a8c1f', toTag: undefined,
      maxForwards: 70, routes: 0, contact: 'sip:carol@192.168.1.61:52764;transport=UDP',
      ruriHost: 'sip.example.com',
    },
  },
];

/** Total octets of the corpus, for the report. */
export const corpusBytes = corpus.reduce((n, m) => n + m.bytes.length, 0);
