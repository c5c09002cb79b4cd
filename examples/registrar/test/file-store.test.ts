import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { adminGet, cleanup, headerValues, runToExit, sipp, startRegistrar, statusOf, udpClient, until } from './helpers.js';

afterEach(cleanup);

const dir = mkdtempSync(join(tmpdir(), 'sipway-registrar-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Records = Array<{ aor: string; bindings: Array<{ contact: string }> }>;

function snapshotHas(path: string, aor: string): boolean {
  try {
    return readFileSync(path, 'utf8').includes(aor);
  } catch {
    return false;
  }
}

describe('sipway-registrar with the file store', () => {
  it('keeps a binding across kill -9 and a restart', async () => {
    const path = join(dir, 'crash.json');
    const args = ['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--store', `file:${path}?flushIntervalMs=100`, '--admin', '127.0.0.1:0'];
    const first = await startRegistrar(args);
    const run = await sipp({ scenario: 'register.xml', remote: first.legs[0]!, service: 'alice' });
    expect(run.code, run.output + run.errors).toBe(0);
    // The snapshot is written within flushIntervalMs of the change; a crash before that would lose it (documented window).
    await until(() => snapshotHas(path, 'sip:alice@example.com'), 5000, 'the snapshot with alice');
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = await startRegistrar(args);
    const bindings = (await adminGet(second.admin!, '/bindings')).json as Records;
    expect(bindings.map((r) => r.aor)).toEqual(['sip:alice@example.com']);
    expect(bindings[0]!.bindings[0]!.contact).toMatch(/^sip:alice@127\.0\.0\.1:\d+;transport=UDP$/i);
    const client = await udpClient();
    try {
      const query = await client.request(second.legs[0]!, { user: 'alice', contact: null });
      expect(statusOf(query)).toBe(200);
      expect(headerValues(query, 'Contact')).toHaveLength(1);
    } finally {
      client.close();
    }
    expect(await second.stop()).toBe(0);
  });

  it('writes the last changes on SIGTERM even inside the flush interval', async () => {
    const path = join(dir, 'graceful.json');
    // A long interval: only the snapshot written on close can hold bob.
    const args = ['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--store', `file:${path}?flushIntervalMs=60000`, '--admin', '127.0.0.1:0'];
    const first = await startRegistrar(args);
    const client = await udpClient();
    try {
      expect(statusOf(await client.request(first.legs[0]!, { user: 'bob', expires: 120 }))).toBe(200);
      expect(snapshotHas(path, 'sip:bob@example.com')).toBe(false);
      expect(await first.stop('SIGTERM')).toBe(0);
      expect(snapshotHas(path, 'sip:bob@example.com')).toBe(true);
      const second = await startRegistrar(args);
      const bindings = (await adminGet(second.admin!, '/bindings')).json as Records;
      expect(bindings.map((r) => r.aor)).toEqual(['sip:bob@example.com']);
      expect(bindings[0]!.bindings[0]!.contact).toBe(`sip:bob@127.0.0.1:${client.port}`);
      expect(await second.stop()).toBe(0);
    } finally {
      client.close();
    }
  });

  it('refuses to start on a corrupt snapshot (exit 1) rather than lose the bindings silently', async () => {
    const path = join(dir, 'corrupt.json');
    writeFileSync(path, '{ not json');
    const r = await runToExit(['--leg', 'udp:127.0.0.1:0', '--store', `file:${path}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start/);
  });
});
