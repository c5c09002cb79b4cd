// scripts/ensure-peers.mjs, the first step of `pnpm test` (issue 9 item 13): on a fresh machine it
// installs the Debian peers when it can and otherwise stops within seconds naming them. Driven as
// a user would run it, with PATH pointing at directories of fake programs (a fake apt-get that
// records what it was asked and "installs" by writing fake programs), so nothing here touches
// the machine's packages.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PEERS, missingPeerError, requirePeer, spawnPeer } from '../src/index.js';

const SCRIPT = new URL('../../../scripts/ensure-peers.mjs', import.meta.url).pathname;
const ROOT = new URL('../../../', import.meta.url).pathname;

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // Only what the test gives: PATH decides what is "installed".
    const child = spawn(process.execPath, [SCRIPT], { env: { HOME: tmpdir(), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

function fakeDir(programs: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ensure-peers-'));
  for (const [name, body] of Object.entries(programs)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

const ALL = PEERS.map((p) => p.debian);
const isRoot = process.getuid?.() === 0;

describe('scripts/peers.json', () => {
  it('is one list of Debian packages and the commands that prove them, which .ci/run uses too', () => {
    expect(ALL).toEqual(expect.arrayContaining(['sip-tester', 'libnet-sip-perl', 'redis-server']));
    for (const p of PEERS) expect(p).toMatchObject({ debian: expect.stringMatching(/^[a-z0-9][a-z0-9.+-]+$/), command: expect.any(String), for: expect.any(String) });
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toContain('scripts/ensure-peers.mjs');
    expect(ci).not.toMatch(/sip-tester|libnet-sip-perl/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { test: string } };
    expect(pkg.scripts.test.startsWith('node scripts/ensure-peers.mjs && ')).toBe(true);
  });
});

describe('scripts/ensure-peers.mjs', () => {
  it('with PATH pointing at an empty directory: names every package and exits 1 within seconds', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ensure-peers-empty-'));
    const r = await run({ PATH: empty });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(5000);
    expect(r.stderr).toContain(`sudo apt-get install -y --no-install-recommends ${ALL.join(' ')}`);
    for (const p of PEERS) expect(r.stderr).toContain(`${p.debian} (${p.command} not found on PATH)`);
    expect(r.stderr).toContain('apt-get is not on PATH');
  });

  it('checks more than presence: a perl without Net::SIP is libnet-sip-perl missing', async () => {
    // Every other peer of the list is there (a fake that proves nothing but presence).
    const others = Object.fromEntries(PEERS.filter((p) => p.command !== 'perl').map((p) => [p.command, 'exit 0']));
    const dir = fakeDir({ ...others, sipp: 'exit 99', perl: 'echo "Can\'t locate Net/SIP.pm in @INC" >&2; exit 2' });
    const r = await run({ PATH: dir, SIPWAY_PEERS_INSTALL: 'never' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/libnet-sip-perl \(`perl -MNet::SIP -e 1` failed: Can't locate Net\/SIP\.pm/);
    expect(r.stderr).not.toMatch(/ - sip-tester|- redis-server/);
    expect(r.stderr).toContain('sudo apt-get install -y --no-install-recommends libnet-sip-perl\n');
  });

  it('SIPWAY_PEERS_INSTALL=never forbids installing even where apt-get is there', async () => {
    const dir = fakeDir({ 'apt-get': `echo "$*" >> "${'$'}{0%/*}/apt.log"; exit 0` });
    const r = await run({ PATH: dir, SIPWAY_PEERS_INSTALL: 'never' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SIPWAY_PEERS_INSTALL=never');
    expect(existsSync(join(dir, 'apt.log'))).toBe(false);
    expect((await run({ PATH: dir, SIPWAY_PEERS_INSTALL: 'sometimes' })).code).toBe(2);
  });

  it('installs with apt-get update + install (quiet, non-interactive) when root, else says why it does not', async () => {
    // The fake apt-get logs its arguments and environment and, on install, "installs" the peers.
    const dir = fakeDir({});
    const peerScripts = PEERS.map((p) => `printf '#!/bin/sh\\nexit 0\\n' > "$D/${p.command}"; /bin/chmod 755 "$D/${p.command}"`).join('\n');
    writeFileSync(
      join(dir, 'apt-get'),
      `#!/bin/sh\nD="${dir}"\necho "$DEBIAN_FRONTEND $*" >> "$D/apt.log"\nif [ "$1" = install ]; then\n${peerScripts}\nfi\nexit 0\n`,
    );
    chmodSync(join(dir, 'apt-get'), 0o755);
    const r = await run({ PATH: dir });
    if (isRoot) {
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(dir, 'apt.log'), 'utf8').trim().split('\n')).toEqual([
        'noninteractive update -qq',
        `noninteractive install -y -qq --no-install-recommends ${ALL.join(' ')}`,
      ]);
      expect(r.stderr).toContain(`installed ${ALL.join(' ')}`);
      // Now present: a second run is silent and does not call apt-get again.
      const again = await run({ PATH: dir });
      expect([again.code, again.stderr]).toEqual([0, '']);
      expect(readFileSync(join(dir, 'apt.log'), 'utf8').trim().split('\n')).toHaveLength(2);
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not running as root, and sudo needs a password');
      expect(existsSync(join(dir, 'apt.log'))).toBe(false);
    }
  });

  it('reports a failed apt-get and still exits 1 (as root), or refuses to try (not root)', async () => {
    const dir = fakeDir({ 'apt-get': 'echo "E: Unable to locate package" >&2; exit 100' });
    const r = await run({ PATH: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(isRoot ? /apt-get update -qq failed \(exit 100\)[\s\S]*Unable to locate package[\s\S]*apt-get did not install them/ : /not running as root/);
  });

  it('on this machine (after `pnpm test` ran it) finds every peer and is silent', async () => {
    const r = await run({ PATH: process.env.PATH ?? '' });
    expect([r.code, r.stderr]).toEqual([0, '']);
  });
});

describe('test helpers fail fast on a missing peer', () => {
  it('spawnPeer rejects at once with the Debian package named, instead of waiting for an exit that never comes', async () => {
    const started = Date.now();
    const error = await new Promise<Error>((resolve) => {
      spawnPeer('sipp', ['-v'], { env: { PATH: mkdtempSync(join(tmpdir(), 'no-sipp-')) }, stdio: 'ignore' }, resolve);
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toMatch(/^test peer missing: cannot run sipp \(Debian package sip-tester\): spawn sipp ENOENT\. Install it: sudo apt-get install -y sip-tester/);
  });

  it('requirePeer throws the same message for a missing one and passes for an installed one', () => {
    const saved = process.env.PATH;
    try {
      process.env.PATH = mkdtempSync(join(tmpdir(), 'no-peers-'));
      expect(() => requirePeer('libnet-sip-perl')).toThrowError(/cannot run perl \(Debian package libnet-sip-perl\): perl not found on PATH/);
      expect(() => requirePeer('redis-server')).toThrowError(/Debian package redis-server/);
    } finally {
      process.env.PATH = saved;
    }
    for (const p of PEERS) expect(() => requirePeer(p.debian)).not.toThrow();
    expect(missingPeerError('kamailio').message).toBe('test peer missing: cannot run kamailio: not installed.');
  });
});
