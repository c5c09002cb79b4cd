import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLE_DIR, MAIN, cleanup, freePort, sipp, startProxy } from './helpers.js';

afterEach(cleanup);

/** Run the CLI to completion (bounded), for the start-up error paths. */
function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('the sipway-proxy command', () => {
  it('prints one "listening" line per leg with the bound port, as JSON, and exits 0 on SIGTERM', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--leg', 'udp:[::1]:0'], 3);
    expect(proxy.legs.map((l) => `${l.transport} ${l.address}`)).toEqual(['udp 127.0.0.1', 'tcp 127.0.0.1', 'udp ::1']);
    expect(proxy.legs.every((l) => l.port > 0)).toBe(true);
    const listening = proxy.logs().filter((l) => String(l.msg).includes('listening'));
    expect(listening).toHaveLength(3);
    expect(listening[0]).toMatchObject({ level: 30, leg: `udp:127.0.0.1:${proxy.legs[0]!.port}` });
    expect(await proxy.stop('SIGTERM')).toBe(0);
    expect(proxy.logs().some((l) => l.msg === 'closed')).toBe(true);
  });

  it('exits 0 on SIGINT', async () => {
    const proxy = await startProxy(['--leg', 'tcp:127.0.0.1:0'], 1);
    expect(await proxy.stop('SIGINT')).toBe(0);
  });

  it("warns of the open relay of --domain '*' (the default) at any log level; --domain D does not", async () => {
    const open = await startProxy(['--leg', 'udp:127.0.0.1:0', '--log-level', 'silent'], 1);
    expect(await open.stop()).toBe(0);
    const warning = open.logs().filter((l) => String(l.msg).startsWith('OPEN RELAY'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatchObject({ level: 40, openRelay: true });
    const closed = await startProxy(['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--log-level', 'info'], 1);
    expect(await closed.stop()).toBe(0);
    expect(closed.output()).not.toMatch(/OPEN RELAY/);
  });

  it('is quiet at --log-level warn apart from the listening lines', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--log-level', 'warn', '--contact-key', 'base64:q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k='], 1);
    expect(await proxy.stop()).toBe(0);
    const levels = proxy.logs().filter((l) => !String(l.msg).includes('listening') && l.msg !== 'closing legs' && l.msg !== 'closed');
    expect(levels.filter((l) => Number(l.level) < 40)).toEqual([]);
  });

  it.each([
    [['--leg', 'sctp:127.0.0.1:5060'], /unknown transport sctp/],
    [['--leg', 'udp:example.com:5060'], /host must be an IP address/],
    [['--leg', 'udp:::1:5060'], /expected proto:host:port/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--leg', 'tls:127.0.0.1:0'], /a tls leg needs tls-cert and tls-key/],
    [['--tls-cert', '/tmp/x.pem'], /tls-cert and tls-key go together/],
    [['--config', '/nonexistent/sipway.yaml'], /cannot read config file/],
    [['--store', 'mysql://127.0.0.1/0'], /expected memory, file:PATH or redis/],
    [['--auth-user', 'alice:pw'], /authentication needs a realm/],
    [['--rate-limit', 'lots'], /expected N or N\/SECONDS/],
    [['--admin', 'localhost:9060'], /admin: /],
    [['--relay-allow', '10.0.0.0/40'], /relay-allow "10\.0\.0\.0\/40"/],
    [['--allow-destination', 'localhost'], /allow-destination "localhost"/],
    [['--route-secret', 'short'], /route-secret/],
    // A bad option found by sip-leg (LEG_INVALID_OPTIONS, imported as LEG_ERROR_CODES.INVALID_OPTIONS) is a bad flag too.
    [['--leg', 'udp:127.0.0.1:0', '--proxy', 'tel:+1'], /outboundProxy: 'tel:\+1' is neither a SIP URI/],
  ])('refuses %j with exit code 2 and a clear message', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 when the Redis store does not answer at start-up (nothing listens on port 1)', async () => {
    const r = await runCli(['--leg', 'udp:127.0.0.1:0', '--registrar', '--store', 'redis://127.0.0.1:1/0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start: redis location store/);
  });

  it('exits 1 when a leg cannot bind (port taken)', async () => {
    const first = await startProxy(['--leg', 'tcp:127.0.0.1:0'], 1);
    const r = await runCli(['--leg', `tcp:127.0.0.1:${first.legs[0]!.port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start/);
  });
});

describe('pnpm proxy (the root script a user runs)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('starts the proxy and exits 0 itself on %s sent to pnpm alone', async (signal) => {
    const root = join(EXAMPLE_DIR, '..', '..');
    const child = spawn('pnpm', ['proxy', '--', '--leg', 'udp:127.0.0.1:0', '--log-level', 'warn'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    try {
      const end = Date.now() + 30_000;
      while (!out.includes('listening on udp:127.0.0.1:')) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`pnpm proxy did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const pid = Number(/"pid":(\d+)/.exec(out)![1]);
      child.kill(signal);
      expect(await exited).toBe(0);
      // The node process under pnpm is gone too.
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      clearTimeout(killer);
    }
  });
});

describe('--config FILE', () => {
  function write(text: string): string {
    const path = join(mkdtempSync(join(tmpdir(), 'sipway-cfg-')), 'proxy.yaml');
    writeFileSync(path, text);
    return path;
  }

  it('starts the legs of the file, with per-leg registrar and domains, and serves REGISTER on the registrar leg', async () => {
    const path = write(
      [
        'log-level: warn',
        'contact-key: base64:q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=',
        'legs:',
        '  - leg: udp:127.0.0.1:0',
        '    registrar: true',
        '    domain: [example.com]',
        '  - leg: tcp:127.0.0.1:0',
        '    domain: example.net',
        '',
      ].join('\n'),
    );
    const proxy = await startProxy(['--config', path], 2);
    expect(proxy.legs.map((l) => l.transport)).toEqual(['udp', 'tcp']);
    const port = await freePort();
    const r = await sipp({
      scenario: 'register-cycle.xml',
      remote: `127.0.0.1:${proxy.legs[0]!.port}`,
      local: '127.0.0.1',
      port,
      transport: 'udp',
      keys: { user: 'dave', domain: 'example.com', contact_host: '127.0.0.1', contact_port: port },
    }).done;
    expect(r.code, r.errors).toBe(0);
    expect(await proxy.stop()).toBe(0);
  });

  it.each([
    ['legs:\n  - leg: udp:127.0.0.1:0\n    colour: blue\n', /legs\[0\]: unknown key "colour"/],
    ['listen: udp:127.0.0.1:0\n', /unknown key "listen"/],
    ['legs:\n  - leg: udp:127.0.0.1:0\n    tls-key: /tmp/k.pem\n', /tls-cert and tls-key go together/],
    ['legs:\n  - domain: example.com\n', /a leg needs the key "leg"/],
    ['registrar: yes please\n', /registrar must be true or false/],
    ['legs: [\n', /not valid YAML/],
    ['legs:\n  - udp:127.0.0.1:5060\n  - udp:127.0.0.1:5060\n', /the same leg is given twice/],
  ])('refuses %j with exit code 2', async (text, message) => {
    const r = await runCli(['--config', write(text)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
