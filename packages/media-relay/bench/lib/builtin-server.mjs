/**
 * The built-in relay in a process of its own, for the benchmark: sets up `streams` calls between
 * the caller at A and the callee at B through the real offer/answer path, prints
 * `{"pairs":[[portForCaller, portForCallee], …]}` and relays until killed.
 * argv: streams aPort bPort portMin
 */
import { BuiltinMediaRelay } from '../../dist/index.js';

// SIGTERM from the driver: exit normally (lets --cpu-prof write its profile).
process.on('SIGTERM', () => process.exit(0));
const [streams, aPort, bPort, portMin] = process.argv.slice(2).map(Number);
const relay = new BuiltinMediaRelay({ portMin, portMax: Math.min(65535, portMin + streams * 4 + 400), maxSessions: streams + 10, maxSockets: streams * 4 + 40 });
const side = (address) => ({ leg: `udp:${address}:5060`, address, transport: 'udp', family: 4 });
const sdp = (address, port) => `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=ptime:20\r\n`;
const pairs = [];
for (let i = 0; i < streams; i++) {
  const call = { callId: `bench-${i}`, fromTag: 'a', toTag: 'b', cseq: 1 };
  const offered = await relay.offer(sdp('127.0.0.1', aPort), call, side('127.0.0.1'), side('127.0.0.2'));
  const answered = await relay.answer(sdp('127.0.0.2', bPort), call, side('127.0.0.2'), side('127.0.0.1'));
  pairs.push([Number(/m=audio (\d+)/.exec(answered)[1]), Number(/m=audio (\d+)/.exec(offered)[1])]);
}
process.stdout.write(`${JSON.stringify({ pairs })}\n`);
