import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanup, find, startLine, startProxy, until } from './helpers.js';
import { adminGet, callBob, registerUas, statusOf, udpClient } from './ops-helpers.js';

afterEach(cleanup);

const dir = mkdtempSync(join(tmpdir(), 'sipway-proxy-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function snapshotHas(path: string, aor: string): boolean {
  try {
    return readFileSync(path, 'utf8').includes(aor);
  } catch {
    return false;
  }
}

describe('--store file:PATH', () => {
  it('keeps the binding across kill -9 and a restart: a call through the new process reaches the UAS', async () => {
    const path = join(dir, 'bindings.json');
    const args = ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--store', `file:${path}?flushIntervalMs=100`, '--log-level', 'warn'];
    const first = await startProxy(args, 1);
    const { uas, uasPort, reg } = await registerUas(first.legs[0]!.port);
    expect(reg.code, reg.errors).toBe(0);
    // The snapshot follows a change within flushIntervalMs; kill -9 only once it holds bob.
    await until(() => snapshotHas(path, 'sip:bob@example.com'), 5000, 'the snapshot with bob');
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = await startProxy(args, 1);
    const uac = await callBob(second.legs[0]!.port);
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1000)).toBe(0);
    expect(callee.code, callee.errors).toBe(0);
    const [invite] = find(callee.received, /^INVITE /);
    expect(startLine(invite!)).toBe(`INVITE sip:bob@127.0.0.3:${uasPort};transport=UDP SIP/2.0`);
    expect(find(callee.received, /^BYE /)).toHaveLength(1);
    expect(await second.stop()).toBe(0);
  });

  it('writes the last REGISTER on SIGTERM even inside the flush interval, and serves it after the restart', async () => {
    const path = join(dir, 'graceful.json');
    // A long interval: only the snapshot written on close can hold carol.
    const args = ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--store', `file:${path}?flushIntervalMs=60000`, '--admin', '127.0.0.1:0', '--log-level', 'warn'];
    const first = await startProxy(args, 1);
    const client = await udpClient();
    try {
      expect(statusOf(await client.request(first.legs[0]!, { user: 'carol' }))).toBe(200);
      expect(snapshotHas(path, 'sip:carol@example.com')).toBe(false);
      expect(await first.stop('SIGTERM')).toBe(0);
      expect(snapshotHas(path, 'sip:carol@example.com')).toBe(true);
      const second = await startProxy(args, 1);
      const bindings = (await adminGet(second.admin!, '/bindings')).json as Array<{ aor: string; bindings: Array<{ contact: string }> }>;
      expect(bindings.map((r) => r.aor)).toEqual(['sip:carol@example.com']);
      expect(bindings[0]!.bindings[0]!.contact).toBe(`sip:carol@127.0.0.1:${client.port}`);
      expect(await second.stop()).toBe(0);
    } finally {
      client.close();
    }
  });
});
