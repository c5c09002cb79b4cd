/** Messages shared by the tests, CRLF line ends as on the wire. */
export const crlf = (lines: string[]): string => `${lines.join('\r\n')}`;

export const INVITE = crlf([
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: "Alice, A." <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>;expires=60, "Second" <sip:a2@10.0.0.1:5070;transport=tcp>;q=0.5',
  'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  'Route: <sip:p3.example.com;lr>',
  'Content-Type: application/sdp',
  'Content-Length: 5',
  '',
  'v=0',
  '',
]);

export const RESPONSE_200 = crlf([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bKnashds8;received=192.0.2.3',
  'Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds ;received=192.0.2.1',
  'Record-Route: <sip:server10.biloxi.example.com;lr>, <sip:bigbox3.site3.atlanta.example.com;lr>',
  'To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:bob@192.0.2.4>',
  'Content-Length: 0',
  '',
  '',
]);

export const COMPACT = crlf([
  'OPTIONS sip:carol@chicago.example.com SIP/2.0',
  'v: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877',
  'Max-Forwards: 70',
  't: <sip:carol@chicago.example.com>',
  'f: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'i: a84b4c76e66710',
  'CSeq: 63104 OPTIONS',
  'm: <sip:alice@pc33.atlanta.example.com>',
  'k: timer, 100rel',
  'l: 0',
  '',
  '',
]);
