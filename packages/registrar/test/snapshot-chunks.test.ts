import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LocationRecord } from '../src/index.js';
import { FileLocationStore } from '../src/stores/file/index.js';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotChunks } from '../src/stores/file/snapshot.js';

const record = (i: number): LocationRecord => ({
  aor: `sip:u${i}@example.com`,
  bindings: [{ contact: `sip:u${i}@192.0.2.1:5060`, expires: 2e12, callId: `c${i}`, cseq: i, updated: 1e12, params: { 'reg-id': '1', ob: null } }],
  expiresAt: 2e12,
  version: i + 1,
});

describe('chunked snapshot', () => {
  it('is byte for byte the one-shot JSON, for 0, 1 and 5000 records (several chunks)', () => {
    for (const n of [0, 1, 5000]) {
      const records = Array.from({ length: n }, (_, i) => record(i));
      const chunks = [...encodeSnapshotChunks(records, 123)];
      expect(chunks.join('')).toBe(encodeSnapshot(records, 123));
      if (n === 5000) expect(chunks.length).toBeGreaterThan(5);
    }
  });

  it('a change made while the snapshot is being written is on disk after the next write', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sipway-chunks-')), 'b.json');
    const store = await FileLocationStore.open({ path, flushIntervalMs: 0 });
    for (let i = 0; i < 3000; i++) await store.save(`sip:u${i}@example.com`, record(i).bindings, { expectedVersion: 0, expiresAt: 2e12 });
    await store.flush();
    // Change the last AOR while the next write is under way (it yields between chunks).
    await store.save('sip:u0@example.com', [], { expectedVersion: 1, expiresAt: 2e12 });
    const writing = store.flush();
    await store.save('sip:u2999@example.com', [], { expectedVersion: 1, expiresAt: 2e12 });
    await writing;
    await store.flush();
    const { records } = decodeSnapshot(readFileSync(path, 'utf8'), 0);
    expect(records).toHaveLength(3000);
    expect(records.find((r) => r.aor === 'sip:u0@example.com')?.bindings).toEqual([]);
    expect(records.find((r) => r.aor === 'sip:u2999@example.com')?.bindings).toEqual([]);
    await store.close();
  });
});
