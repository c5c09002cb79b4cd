// Benchmark driver: rtpengine (Debian rtpengine-daemon) in userspace (`--table=-1`, no kernel
// module), its calls set up over the ng protocol with this package's RtpengineClient (built dist/).
// The load and the measurement are lib/generator.mjs's, the same as for the other relays: the
// callers' socket on 127.0.0.1, the callees' on 127.0.0.2, so rtpengine runs two logical
// interfaces (`caller/127.0.0.1`, `callee/127.0.0.2`) and each offer names the `direction`.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { RtpengineClient } from '../dist/index.js';
import { runDriver } from './lib/generator.mjs';

const NAME = 'rtpengine 10.5 userspace (C)';

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function sdp(address, port, session) {
  return `v=0\r\no=- ${session} 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n`;
}
const mediaPort = (text) => Number(/^m=audio (\d+)/m.exec(text)[1]);

/** Starts rtpengine with `streams` calls between the caller socket `a` and the callee socket `b`. */
async function start(streams, a, b) {
  const ngPort = await freePort();
  // 4 ports a call (RTP + RTCP each side) and room: below the others' 20000+ and Linux's 32768+.
  const size = 8 * streams + 200;
  const portMin = 10_000 + 2 * Math.floor(Math.random() * 500);
  const args = [
    '--foreground', '--config-file=none', '--table=-1', '--log-stderr', '--log-level=3', '--num-threads=2',
    `--interface=caller/${a.address}`, `--interface=callee/${b.address}`, `--listen-ng=127.0.0.1:${ngPort}`,
    `--port-min=${portMin}`, `--port-max=${portMin + size - 1}`, '--delete-delay=0', '--timeout=600',
  ];
  const child = spawn('rtpengine', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const spawned = new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new Error(`cannot run rtpengine (apt-get install rtpengine-daemon): ${e.message}`)));
  });
  await spawned;
  const client = await RtpengineClient.connect({ host: '127.0.0.1', port: ngPort, timeoutMs: 500, retries: 10, maxPending: 100_000 });
  const stop = async () => {
    await client.close();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(killer);
  };
  try {
    // Until it listens, a ping is refused at once (ICMP port unreachable): try again, bounded.
    for (const deadline = Date.now() + 15_000; ; ) {
      try {
        await client.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`rtpengine did not start: ${error.message} ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const pairs = Array.from({ length: streams });
    for (let i = 0; i < streams; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, streams - i) }, async (_, k) => {
          const n = i + k;
          const call = { 'call-id': `bench-${n}`, 'from-tag': `caller-${n}` };
          const offer = await client.request({ command: 'offer', ...call, sdp: sdp(a.address, a.port, 1), direction: ['caller', 'callee'], ICE: 'remove', replace: ['origin', 'session connection'] });
          const answer = await client.request({ command: 'answer', ...call, 'to-tag': `callee-${n}`, sdp: sdp(b.address, b.port, 2), ICE: 'remove', replace: ['origin', 'session connection'] });
          pairs[n] = [mediaPort(answer.dict.sdp), mediaPort(offer.dict.sdp)];
        }),
      );
    }
    return { pid: child.pid, pairs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

await runDriver(NAME, start);
