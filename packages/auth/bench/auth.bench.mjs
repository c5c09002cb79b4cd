// CPU cost of the chain members, in process (no sockets): challenges per second, verified
// REGISTERs per second with MD5 and SHA-256 (each with a new nc, so the replay window is used),
// and RateLimiter admissions per second. Runs against dist/ (`pnpm --filter @sipway/auth bench`).
//
//   node bench/auth.bench.mjs [--n 20000] [--rounds 5]
//
// The dispatcher is a stand-in whose deliver() does nothing: this measures the members, not UDP.
// Reported: median of rounds, after one warm-up round.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseMessage } from '@sipway/sip-message';
import { DigestAuthenticator, RateLimiter } from '../dist/index.js';

const args = new Map(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const N = Number(args.get('n') ?? 20_000);
const ROUNDS = Number(args.get('rounds') ?? 5);
const REALM = 'example.com';

const dispatcher = { deliver: async () => ({ ok: true }) };
const info = { source: { transport: 'udp', address: '192.0.2.1', port: 5060, family: 4 }, leg: {} };
const H = (alg, s) => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');

function register(i, authorization) {
  return parseMessage(
    `REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-b${i}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:alice@example.com>;tag=b\r\nTo: <sip:alice@example.com>\r\nCall-ID: bench@192.0.2.1\r\nCSeq: ${i + 1} REGISTER\r\n` +
      `Contact: <sip:alice@192.0.2.1:5060>\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}Content-Length: 0\r\n\r\n`,
  );
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function measure(name, setup) {
  const rates = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const { messages, member } = setup();
    const t0 = performance.now();
    for (const m of messages) await member.receive(m, info);
    const dt = performance.now() - t0;
    if (r > 0) rates.push((messages.length / dt) * 1000);
  }
  console.log(`${name.padEnd(34)} ${Math.round(median(rates)).toLocaleString('en-US').padStart(10)} /s`);
}

const auth = () => new DigestAuthenticator({ dispatcher, realm: REALM, users: { alice: 'wonderland' }, nonceSecret: 'bench-nonce-secret-0123456789abcdef' });

await measure('challenge (401, two headers)', () => ({ member: auth(), messages: Array.from({ length: N }, (_, i) => register(i)) }));

for (const alg of ['MD5', 'SHA-256']) {
  await measure(`verify ${alg} qop=auth (authorized)`, () => {
    const member = auth();
    // One challenge, then N requests with growing nc, as a client reusing its nonce does.
    let nonce;
    const grab = { deliver: async (r) => ((nonce ??= /nonce="([^"]+)"/.exec(r.getHeader('WWW-Authenticate'))[1]), { ok: true }) };
    const first = new DigestAuthenticator({ dispatcher: grab, realm: REALM, users: { alice: 'wonderland' }, nonceSecret: 'bench-nonce-secret-0123456789abcdef' });
    void first.receive(register(0), info);
    const ha1 = H(alg, `alice:${REALM}:wonderland`);
    const ha2 = H(alg, 'REGISTER:sip:example.com');
    const messages = [];
    for (let i = 0; i < N; i++) {
      const nc = (i + 1).toString(16).padStart(8, '0');
      const response = H(alg, `${ha1}:${nonce}:${nc}:cn:auth:${ha2}`);
      messages.push(register(i, `Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:example.com", response="${response}", algorithm=${alg}, qop=auth, nc=${nc}, cnonce="cn"`));
    }
    return { member, messages };
  });
}

await measure('RateLimiter admit (memory store)', () => ({
  member: new RateLimiter({ dispatcher, points: 1e9, duration: 60 }),
  messages: Array.from({ length: N }, (_, i) => register(i)),
}));
await measure('RateLimiter 503 (over the limit)', () => ({
  member: new RateLimiter({ dispatcher, points: 1, duration: 60 }),
  messages: Array.from({ length: N }, (_, i) => register(i)),
}));
