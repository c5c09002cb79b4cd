import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FileLocationStore } from '../src/stores/file/index.js';
import { T0, contactsOf, setup } from './helpers.js';
import type { Setup } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'sipway-file-registrar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const open: Setup[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** A registrar (in-memory legs, clock at `now`) on a file store at `path`. */
async function registrarOnFile(path: string, now: number): Promise<{ s: Setup; store: FileLocationStore }> {
  const store = await FileLocationStore.open({ path, clock: () => now, flushIntervalMs: 50 });
  const s = await setup({ store });
  s.advance((now - T0) / 1000);
  open.push(s);
  return { s, store };
}

describe('a registrar on the file store keeps its bindings across a restart', () => {
  it('REGISTER, restart (close and open the file), and the binding is found with its remaining expiry', async () => {
    const path = join(root, 'restart.json');
    const first = await registrarOnFile(path, T0);
    const ok = await first.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>;q=0.7'], expires: 120 });
    expect(ok.status).toBe(200);
    await first.s.close();
    open.splice(open.indexOf(first.s), 1);
    await first.store.close();

    // The registrar comes back 20 s later.
    const second = await registrarOnFile(path, T0 + 20_000);
    const bindings = await second.s.registrar.lookup('sip:alice@example.com');
    expect(bindings.map((b) => [b.contact, b.q, b.expires])).toEqual([['sip:alice@10.0.0.2:5060', 0.7, T0 + 120_000]]);
    // A query REGISTER lists it with the seconds left, as before the restart.
    const query = await second.s.register({});
    expect(contactsOf(query).map((c) => [c.uri, c.expires])).toEqual([['sip:alice@10.0.0.2:5060', 100]]);
    await second.s.close();
    open.splice(open.indexOf(second.s), 1);
    await second.store.close();

    // Back after the binding lapsed: gone from the store, though the AOR is still known (rememberFor).
    const third = await registrarOnFile(path, T0 + 200_000);
    expect(await third.s.registrar.lookup('sip:alice@example.com')).toEqual([]);
    expect(await third.s.registrar.knows('sip:alice@example.com')).toBe(true);
    expect((await third.store.lookup('sip:alice@example.com'))?.bindings).toEqual([]);
    await third.store.close();
  });

  it('an unregister before the restart stays an unregister after it', async () => {
    const path = join(root, 'unregister.json');
    const first = await registrarOnFile(path, T0);
    expect((await first.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120 })).status).toBe(200);
    expect((await first.s.register({ contacts: ['*'], expires: 0 })).status).toBe(200);
    await first.store.close();
    const second = await registrarOnFile(path, T0 + 1000);
    expect(await second.s.registrar.lookup('sip:alice@example.com')).toEqual([]);
    await second.store.close();
  });
});
