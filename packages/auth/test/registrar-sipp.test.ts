import { spawnPeer } from '@sipway/test-peers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { ReceiveChain } from '@sipway/receive-chain';
import { Registrar } from '@sipway/registrar';
import { DigestAuthenticator, RateLimiter } from '../src/index.js';

const SIPP_DIR = join(dirname(fileURLToPath(import.meta.url)), 'sipp');
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function sipp(port: number, scenario: string, password: string): Promise<number | null> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-auth-reg-'));
  const args = [`127.0.0.1:${port}`, '-sf', join(SIPP_DIR, scenario), '-s', 'alice', '-au', 'alice', '-ap', password, '-auth_uri', 'example.com', '-i', '127.0.0.1', '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin'];
  return new Promise((resolve, reject) => {
    // A missing sipp rejects at once, naming its Debian package (spawn emits no exit then).
    const child = spawnPeer('sipp', args, { cwd: dir, stdio: 'ignore' }, reject);
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
      resolve(code);
    });
  });
}

describe('the README set-up: [RateLimiter, DigestAuthenticator, Registrar] on a UDP leg, sipp as the UAC', () => {
  it('stores the binding only after a right password', async () => {
    const dispatcher = new Dispatcher({ legs: [new UdpLeg({ address: '127.0.0.1', port: 0 })] });
    const lines: string[] = [];
    const securityLog = (line: string) => lines.push(line);
    const auth = new DigestAuthenticator({
      dispatcher,
      realm: 'example.com',
      users: { alice: 'wonderland' },
      algorithms: ['MD5', 'SHA-256'], // sipp 3.6.1 reads only the first challenge
      nonceSecret: 'readme-test-nonce-secret-0123456789',
      securityLog,
    });
    const limiter = new RateLimiter({ dispatcher, points: 20, duration: 1, securityLog });
    const registrar = new Registrar({ dispatcher, domains: ['example.com'] });
    dispatcher.setReceiver(new ReceiveChain([limiter, auth, registrar]));
    await dispatcher.start();
    cleanup.push(() => dispatcher.close(), () => registrar.close());
    const port = dispatcher.legs[0]!.port;

    expect(await sipp(port, 'register-auth-403.xml', 'wrong')).toBe(0);
    expect(await registrar.lookup('sip:alice@example.com')).toHaveLength(0);
    expect(await sipp(port, 'register-auth.xml', 'wonderland')).toBe(0);
    const bindings = await registrar.lookup('sip:alice@example.com');
    expect(bindings).toHaveLength(1);
    expect(lines).toEqual([expect.stringMatching(/^sipway auth-failed source=127\.0\.0\.1 port=\d+ reason=bad-password method=REGISTER user="alice"$/)]);
  });
});
