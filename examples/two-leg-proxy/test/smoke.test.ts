import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { spawnPeer } from '@sipway/test-peers';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@sipway/test-peers';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** One sipp run, bounded by -timeout and a kill timer; resolves with its exit code and the messages it received. */
function sipp(scenario: string, args: string[], keys: Record<string, string | number>): Promise<{ code: number | null; received: string[]; errors: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'two-leg-sipp-'));
  let fail: (error: Error) => void = () => undefined;
  // A missing sipp rejects at once, naming its Debian package (spawn emits no exit then).
  const child = spawnPeer(
    'sipp',
    [...args, '-sf', join(DIR, 'test', 'scenarios', scenario), '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin',
      '-trace_msg', '-message_file', join(dir, 'm.log'), '-trace_err', '-error_file', join(dir, 'e.log'),
      ...Object.entries(keys).flatMap(([k, v]) => ['-key', k, String(v)])],
    { stdio: 'ignore' },
    (error) => fail(error),
  );
  children.push(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve, reject) => {
    fail = (error) => {
      clearTimeout(timer);
      reject(error);
    };
    child.once('exit', (code) => {
      clearTimeout(timer);
      const read = (f: string) => {
        try {
          return readFileSync(join(dir, f), 'utf8');
        } catch {
          return '';
        }
      };
      const received = read('m.log')
        .split(/^-{10,}.*$/m)
        .filter((b) => /^\s*\w+ message received/.test(b))
        .map((b) => b.replace(/^\s*\w+ message received[^\n]*\n\s*/, ''));
      resolve({ code, received, errors: read('e.log') });
    });
  });
}

function header(message: string, name: string): string | undefined {
  return message.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();
}

describe('two-leg-proxy smoke test', () => {
  it('an outside TCP caller reaches an inside UDP phone; each side sees only tokens at the proxy as the other side\'s Contact', async () => {
    const proxy = spawn(process.execPath, [join(DIR, 'dist', 'main.js'), '--inside', 'udp:127.0.0.1:0', '--outside', 'tcp:127.0.0.2:0', '--outside', 'ws:127.0.0.2:0', '--domain', 'example.com'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(proxy);
    let out = '';
    proxy.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => proxy.once('exit', (code) => r(code)));
    const end = Date.now() + 10_000;
    while ((out.match(/listening/g) ?? []).length < 3) {
      if (Date.now() > end || proxy.exitCode !== null) throw new Error(`not listening: ${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const port = (side: string, t: string) => Number(new RegExp(`${side} listening on ${t}:[^\\n]*:(\\d+)`).exec(out)![1]);
    const inside = port('inside', 'udp');
    const outside = port('outside', 'tcp');

    // The inside phone (UDP on 127.0.0.3) registers on the inside leg.
    const phonePort = await freePort('127.0.0.3');
    const phone = sipp('uas-call.xml', ['-i', '127.0.0.3', '-p', String(phonePort), '-t', 'u1'], { user: 'bob', contact_host: '127.0.0.3' });
    const reg = await sipp('register.xml', [`127.0.0.1:${inside}`, '-i', '127.0.0.3', '-p', String(await freePort('127.0.0.3')), '-t', 'u1'], {
      user: 'bob', domain: 'example.com', contact_host: '127.0.0.3', contact_port: phonePort,
    });
    expect(reg.code, reg.errors).toBe(0);

    // The outside caller talks TCP to the outside leg.
    const caller = await sipp('uac-call.xml', [`127.0.0.2:${outside}`, '-i', '127.0.0.4', '-p', String(await freePort('127.0.0.4')), '-t', 't1'], {
      user: 'bob', domain: 'example.com', contact_host: '127.0.0.4',
    });
    const callee = await phone;
    expect(caller.code, caller.errors).toBe(0);
    expect(callee.code, callee.errors).toBe(0);

    const invite = callee.received.find((m) => m.startsWith('INVITE '))!;
    expect(header(invite, 'Contact')).toMatch(new RegExp(`^<sip:[A-Za-z0-9]+@127\\.0\\.0\\.1:${inside}>`));
    const ok = caller.received.find((m) => m.startsWith('SIP/2.0 200'))!;
    expect(header(ok, 'Contact')).toMatch(new RegExp(`^<sip:[A-Za-z0-9]+@127\\.0\\.0\\.2:${outside};transport=tcp>`));
    expect(callee.received.find((m) => m.startsWith('BYE '))!.split('\n')[0]).toMatch(new RegExp(`^BYE sip:bob@127\\.0\\.0\\.3:${phonePort}`));

    proxy.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
