import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocationStoreError, RegistrarClosedError, RegistrarOptionsError } from '../src/index.js';
import { FileLocationStore, LocationSnapshotError, parseFileStoreUrl } from '../src/stores/file/index.js';
import type { FileLocationStoreOptions } from '../src/stores/file/index.js';
import { binding, describeLocationStore } from './store-contract.js';
import { pinoCapture, until } from '@sipway/test-peers';

const root = mkdtempSync(join(tmpdir(), 'sipway-file-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
/** A fresh directory for one store. */
function freshDir(): string {
  const dir = join(root, `s${++counter}`);
  mkdirSync(dir);
  return dir;
}

const T = Date.UTC(2030, 0, 1);
const AOR = 'sip:alice@example.com';

/** Opens a store on `path` with the clock at T unless told otherwise. */
function openStore(path: string, options: Partial<FileLocationStoreOptions> = {}): Promise<FileLocationStore> {
  return FileLocationStore.open({ path, clock: () => T, ...options });
}

function snapshotOf(path: string): { records: Array<{ aor: string; bindings: Array<{ contact: string }>; version: number }> } {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function contactsInFile(path: string): string[] {
  if (!existsSync(path)) return [];
  return snapshotOf(path).records.flatMap((r) => r.bindings.map((b) => b.contact));
}

describeLocationStore('FileLocationStore', () => openStore(join(freshDir(), 'bindings.json')));

describe('FileLocationStore: restart', () => {
  it('bindings, record expiry and versions come back after close and open', async () => {
    const path = join(freshDir(), 'bindings.json');
    const store = await openStore(path, { flushIntervalMs: 60_000 });
    const b = binding('sip:a@10.0.0.1', T + 60_000, { q: 0.5, params: { 'reg-id': '1', ob: null }, source: { transport: 'udp', address: '10.0.0.1', port: 5060 } });
    const saved = await store.save(AOR, [b], { expectedVersion: 0, expiresAt: T + 120_000 });
    const second = await store.save(AOR, [b], { expectedVersion: saved.version, expiresAt: T + 120_000 });
    await store.save('sip:bob@example.com', [], { expectedVersion: 0, expiresAt: T + 5000 });
    // The flush interval is a minute: only close() can have written these.
    await store.close();
    const reopened = await openStore(path);
    expect(await reopened.lookup(AOR)).toEqual({ aor: AOR, bindings: [b], expiresAt: T + 120_000, version: second.version });
    expect((await reopened.lookup('sip:bob@example.com'))?.bindings).toEqual([]);
    // Versions survive, so a registrar that read before the restart cannot overwrite blindly.
    expect((await reopened.save(AOR, [], { expectedVersion: saved.version, expiresAt: T })).ok).toBe(false);
    expect((await reopened.save(AOR, [], { expectedVersion: second.version, expiresAt: T + 1 })).ok).toBe(true);
    await reopened.close();
  });

  it('a first start (no file) is an empty store and writes an empty snapshot at once', async () => {
    const path = join(freshDir(), 'bindings.json');
    const store = await openStore(path);
    expect(await store.list()).toEqual([]);
    expect(snapshotOf(path).records).toEqual([]);
    await store.close();
  });

  it('writes the move-aside warning with its fields to a pino logger passed straight in', async () => {
    const dir = freshDir();
    const path = join(dir, 'bindings.json');
    writeFileSync(path, 'garbage');
    const { logger, lines } = pinoCapture();
    const store = await openStore(path, { ifCorrupt: 'move-aside', logger });
    const aside = readdirSync(dir).filter((f) => f.startsWith('bindings.json.corrupt-'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, path, movedTo: join(dir, aside[0] as string) });
    expect(String(lines[0]!.msg)).toMatch(/^location snapshot was corrupt/);
    await store.close();
  });

  it('drops what lapsed while it was down: lapsed bindings, and records past expiresAt', async () => {
    const path = join(freshDir(), 'bindings.json');
    const store = await openStore(path);
    await store.save(AOR, [binding('sip:short@h', T + 30_000), binding('sip:long@h', T + 300_000)], { expectedVersion: 0, expiresAt: T + 400_000 });
    await store.save('sip:bob@example.com', [binding('sip:bob@h', T + 30_000)], { expectedVersion: 0, expiresAt: T + 40_000 });
    await store.save('sip:carol@example.com', [], { expectedVersion: 0, expiresAt: T + 100_000 });
    await store.close();
    const later = await openStore(path, { clock: () => T + 60_000 });
    expect((await later.lookup(AOR))?.bindings.map((b) => b.contact)).toEqual(['sip:long@h']);
    expect(await later.lookup('sip:bob@example.com')).toBeUndefined();
    expect(await later.lookup('sip:carol@example.com')).toBeDefined();
    // The file written at open already lacks them.
    expect(contactsInFile(path)).toEqual(['sip:long@h']);
    expect(snapshotOf(path).records.map((r) => r.aor).sort()).toEqual([AOR, 'sip:carol@example.com']);
    await later.close();
  });

  it('writes a burst of changes once the interval after the first one has passed', async () => {
    const path = join(freshDir(), 'bindings.json');
    const store = await openStore(path, { flushIntervalMs: 100 });
    for (let i = 0; i < 20; i++) await store.save(`sip:u${i}@example.com`, [binding(`sip:u${i}@h`, T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    await until(() => contactsInFile(path).length === 20, 3000);
    expect(contactsInFile(path).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `sip:u${i}@h`).sort());
    await store.close();
  });
});

describe('FileLocationStore: crash (no close)', () => {
  it('a crash image of the file holds every change older than the flush interval; the rest follows within it', async () => {
    const dir = freshDir();
    const path = join(dir, 'bindings.json');
    const store = await openStore(path, { flushIntervalMs: 200 });
    await store.save(AOR, [binding('sip:first@h', T + 60_000)], { expectedVersion: 0, expiresAt: T + 60_000 });
    // Within the flush interval plus one write (generous bound for a loaded machine).
    await until(() => contactsInFile(path).includes('sip:first@h'), 3000);
    const record = await store.lookup(AOR);
    await store.save(AOR, [binding('sip:first@h', T + 60_000), binding('sip:second@h', T + 60_000)], { expectedVersion: record?.version ?? 0, expiresAt: T + 60_000 });
    // kill -9 now: what survives is exactly the file on disk at this instant (the rename is atomic).
    const crashImage = join(dir, 'crash.json');
    copyFileSync(path, crashImage);
    const afterCrash = await openStore(crashImage);
    const restored = (await afterCrash.lookup(AOR))?.bindings.map((b) => b.contact) ?? [];
    expect(restored).toContain('sip:first@h');
    await afterCrash.close();
    // The change made just before the crash instant reaches the file within the window.
    await until(() => contactsInFile(path).includes('sip:second@h'), 3000);
    await store.close();
  });

  it('never leaves a torn or temporary file, and the snapshot is readable by its owner only', async () => {
    const dir = freshDir();
    const path = join(dir, 'bindings.json');
    const store = await openStore(path, { flushIntervalMs: 0 });
    for (let i = 0; i < 30; i++) {
      await store.save(`sip:u${i}@example.com`, [binding(`sip:u${i}@h`, T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      // Every read of the file at any moment is a complete snapshot.
      expect(() => snapshotOf(path)).not.toThrow();
    }
    await store.close();
    expect(readdirSync(dir)).toEqual(['bindings.json']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe('FileLocationStore: bad files are start-up errors', () => {
  async function openError(path: string, options: Partial<FileLocationStoreOptions> = {}): Promise<LocationSnapshotError> {
    const error = await openStore(path, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(LocationSnapshotError.isInstance(error)).toBe(true);
    expect(LocationStoreError.isInstance(error)).toBe(true);
    return error as LocationSnapshotError;
  }

  const cases: Array<[string, string, RegExp]> = [
    ['garbage', 'this is not json', /not JSON/],
    ['an empty file', '', /not JSON/],
    ['a truncated snapshot', '{"format":"sipway.location-snapshot","formatVersion":1,"records":[{"aor":"sip:a@b"', /not JSON/],
    ['JSON of another program', '{"hello":"world"}', /not a sipway.location-snapshot file/],
    ['a newer format version', '{"format":"sipway.location-snapshot","formatVersion":2,"records":[]}', /format version 2/],
    ['a binding whose expiry is a string', JSON.stringify({ format: 'sipway.location-snapshot', formatVersion: 1, records: [{ aor: AOR, bindings: [{ contact: 'sip:a@h', expires: 'soon', callId: 'c', cseq: 1, updated: T }], expiresAt: T + 1000, version: 1 }] }), /binding 0: expires is not a number/],
    ['an AOR twice', JSON.stringify({ format: 'sipway.location-snapshot', formatVersion: 1, records: [{ aor: AOR, bindings: [], expiresAt: T + 1000, version: 1 }, { aor: AOR, bindings: [], expiresAt: T + 1000, version: 1 }] }), /appears twice/],
    ['a version 0', JSON.stringify({ format: 'sipway.location-snapshot', formatVersion: 1, records: [{ aor: AOR, bindings: [], expiresAt: T + 1000, version: 0 }] }), /version is not a positive integer/],
  ];
  for (const [what, content, reason] of cases) {
    it(`${what}: open rejects with problem "corrupt", names the file, and leaves it untouched`, async () => {
      const path = join(freshDir(), 'bindings.json');
      writeFileSync(path, content);
      const error = await openError(path);
      expect(error.problem).toBe('corrupt');
      expect(error.path).toBe(path);
      expect(error.message).toContain(path);
      expect(error.message).toMatch(reason);
      expect(readFileSync(path, 'utf8')).toBe(content);
    });
  }

  it("ifCorrupt: 'move-aside' keeps the bad file under another name, warns, and starts empty", async () => {
    const dir = freshDir();
    const path = join(dir, 'bindings.json');
    writeFileSync(path, 'garbage');
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const store = await openStore(path, { ifCorrupt: 'move-aside', logger: { warn: (data) => warnings.push(data) } });
    expect(await store.list()).toEqual([]);
    const aside = readdirSync(dir).filter((f) => f.startsWith('bindings.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0] as string), 'utf8')).toBe('garbage');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.movedTo).toBe(join(dir, aside[0] as string));
    expect(snapshotOf(path).records).toEqual([]);
    await store.close();
  });

  it('a path that cannot be read (a directory) is "unreadable"', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'bindings.json'));
    expect((await openError(join(dir, 'bindings.json'))).problem).toBe('unreadable');
  });

  it('a directory that does not exist is "unwritable" at open, not at the first REGISTER', async () => {
    const error = await openError(join(freshDir(), 'missing', 'bindings.json'));
    expect(error.problem).toBe('unwritable');
  });
});

describe('FileLocationStore: writes that fail later', () => {
  it('keeps serving, reports the failure, retries every interval, and recovers', async () => {
    const dir = freshDir();
    const sub = join(dir, 'data');
    mkdirSync(sub);
    const path = join(sub, 'bindings.json');
    const errors: string[] = [];
    const store = await openStore(path, { flushIntervalMs: 50, logger: { error: (_f, m) => errors.push(m) } });
    rmSync(sub, { recursive: true });
    await store.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    await until(() => errors.length >= 2, 3000);
    expect((store.lastWriteError as NodeJS.ErrnoException)?.code).toBe('ENOENT');
    expect((await store.lookup(AOR))?.bindings).toHaveLength(1);
    mkdirSync(sub);
    await until(() => contactsInFile(path).includes('sip:a@h'), 3000);
    await until(() => store.lastWriteError === undefined, 1000);
    await store.close();
  });

  it('close rejects when its last write fails, so a shutdown knows changes were lost', async () => {
    const dir = freshDir();
    const sub = join(dir, 'data');
    mkdirSync(sub);
    const store = await openStore(join(sub, 'bindings.json'), { flushIntervalMs: 60_000 });
    await store.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    rmSync(sub, { recursive: true });
    const error = await store.close().catch((e: unknown) => e);
    expect(LocationSnapshotError.isInstance(error)).toBe(true);
    expect((error as LocationSnapshotError).problem).toBe('unwritable');
    // Still closed and idempotent.
    await expect(store.close()).rejects.toBe(error);
    await expect(store.lookup(AOR)).rejects.toThrow(RegistrarClosedError);
  });
});

describe('FileLocationStore: construction', () => {
  it('calls before open() reject with a LocationStoreError saying so', async () => {
    const store = new FileLocationStore({ path: join(freshDir(), 'b.json') });
    const error = await store.lookup(AOR).catch((e: unknown) => e);
    expect(LocationStoreError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/call open\(\) first/);
    await store.close();
    await expect(store.open()).rejects.toThrow(RegistrarClosedError);
  });

  it('open() is idempotent and a closed store rejects with STORE_CLOSED', async () => {
    const path = join(freshDir(), 'b.json');
    const store = new FileLocationStore(`file:${path}`);
    await Promise.all([store.open(), store.open()]);
    await store.close();
    const error = await store.list().catch((e: unknown) => e);
    expect((error as RegistrarClosedError).code).toBe('STORE_CLOSED');
  });

  it('file: URLs: a plain path, file:///, and query parameters', async () => {
    expect(parseFileStoreUrl('file:/var/lib/sipway/bindings.json')).toEqual({ path: '/var/lib/sipway/bindings.json' });
    expect(parseFileStoreUrl('file:data/b.json?flushIntervalMs=250&ifCorrupt=move-aside')).toEqual({ path: 'data/b.json', flushIntervalMs: 250, ifCorrupt: 'move-aside' });
    expect(parseFileStoreUrl(pathToFileURL('/tmp/with space/b.json').href)).toEqual({ path: '/tmp/with space/b.json' });
    expect(() => parseFileStoreUrl('file:b.json?flush=1')).toThrow(RegistrarOptionsError);
    expect(() => parseFileStoreUrl('redis://x')).toThrow(RegistrarOptionsError);
    expect(() => new FileLocationStore('file:b.json?flushIntervalMs=abc')).toThrow(/flushIntervalMs/);
    expect(() => new FileLocationStore({ path: '' })).toThrow(RegistrarOptionsError);
    expect(() => new FileLocationStore({ path: 'b.json', flushIntervalMs: -1 })).toThrow(RegistrarOptionsError);
    expect(() => new FileLocationStore({ path: 'b.json', ifCorrupt: 'ignore' as 'fail' })).toThrow(RegistrarOptionsError);
    // A relative path is resolved once, at construction.
    expect(new FileLocationStore('file:b.json').path).toBe(join(process.cwd(), 'b.json'));
  });
});
