// README snippets that the packages test runs from a fresh npm project: the first ```js/```ts
// block of each README, and every block right after a `<!-- snippet: runs -->` line.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { connect } from 'node:net';

const FENCE = /^```(js|ts)\s*$/;
export const RUN_MARK = '<!-- snippet: runs -->';

/** `[{ lang, code, line }]`: the first js/ts block, then the marked ones. */
export function runnableSnippets(markdown) {
  const lines = markdown.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = FENCE.exec(lines[i]);
    if (m === null) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) break;
    const marked = lines[i - 1]?.trim() === RUN_MARK;
    if (out.length === 0 || marked) out.push({ lang: m[1], code: `${lines.slice(i + 1, end).join('\n')}\n`, line: i + 1 });
    i = end;
  }
  return out;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A real redis-server (Debian's) on a free loopback port, no persistence; `stop()` ends it. */
export async function startRedis() {
  const port = await freeTcpPort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (d) => {
          socket.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('redis-server did not answer PING within 15 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
