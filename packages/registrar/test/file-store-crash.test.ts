/**
 * A real crash: a child process saves bindings into a FileLocationStore and is killed with
 * SIGKILL (no close, no exit handlers). The file it leaves must be a complete snapshot holding
 * every change older than the flush interval (plus one write).
 *
 * The child runs the TypeScript sources through a tiny module hook that transpiles them with the
 * workspace's TypeScript, so no build step is needed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileLocationStore } from '../src/stores/file/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sipway-file-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOOKS = `
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
let ts;
export async function initialize({ typescript }) {
  ts = (await import(typescript)).default;
}
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const candidate = new URL(specifier.replace(/\\.js$/, '.ts'), context.parentURL);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
`;

const REGISTER_HOOKS = `
import { register } from 'node:module';
register(process.env.SIPWAY_HOOKS, { data: { typescript: process.env.SIPWAY_TYPESCRIPT } });
`;

// Saves one AOR every 10 ms and reports each save (its number and time) once it resolved.
const CHILD = `
const { FileLocationStore } = await import(process.env.SIPWAY_STORE);
const store = await FileLocationStore.open({ path: process.env.SIPWAY_PATH, flushIntervalMs: Number(process.env.SIPWAY_FLUSH) });
const T = Date.UTC(2030, 0, 1);
let i = 0;
setInterval(async () => {
  const n = i++;
  await store.save('sip:u' + n + '@example.com', [{ contact: 'sip:u' + n + '@h', expires: T, callId: 'c' + n, cseq: 1, updated: T }], { expectedVersion: 0, expiresAt: T });
  process.stdout.write('saved ' + n + ' ' + Date.now() + '\\n');
}, 10);
`;

describe('FileLocationStore: a process killed with SIGKILL', () => {
  it('leaves a complete snapshot with every change older than the flush interval', async () => {
    const hooks = join(dir, 'hooks.mjs');
    const registerHooks = join(dir, 'register-hooks.mjs');
    const child = join(dir, 'child.mjs');
    writeFileSync(hooks, HOOKS);
    writeFileSync(registerHooks, REGISTER_HOOKS);
    writeFileSync(child, CHILD);
    const path = join(dir, 'bindings.json');
    const flushMs = 200;
    const proc = spawn(process.execPath, ['--import', pathToFileURL(registerHooks).href, child], {
      env: {
        ...process.env,
        SIPWAY_HOOKS: pathToFileURL(hooks).href,
        SIPWAY_TYPESCRIPT: pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href,
        SIPWAY_STORE: pathToFileURL(resolve(here, '../src/stores/file/index.ts')).href,
        SIPWAY_PATH: path,
        SIPWAY_FLUSH: String(flushMs),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const saves: Array<{ n: number; at: number }> = [];
    let stderr = '';
    let buffered = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    // Bounded: the child gets 20 s to get there.
    const killedAt = await new Promise<number>((resolveKill, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`child made no progress: ${stderr.slice(-1000)}`));
      }, 20_000);
      proc.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const [, n, at] = line.split(' ');
          saves.push({ n: Number(n), at: Number(at) });
        }
        // Kill when saves have gone on for the loss window plus 1.5 s, so some are surely older than it.
        const first = saves[0];
        if (first !== undefined && Date.now() - first.at >= flushMs + 2500 && proc.exitCode === null && proc.signalCode === null) {
          clearTimeout(timer);
          const at = Date.now();
          proc.kill('SIGKILL');
          resolveKill(at);
        }
      });
      proc.once('exit', (code) => {
        if (proc.signalCode !== 'SIGKILL') {
          clearTimeout(timer);
          reject(new Error(`child exited (${String(code)}): ${stderr.slice(-1000)}`));
        }
      });
    });
    await exited;
    expect(proc.signalCode).toBe('SIGKILL');

    // Complete JSON (never torn), and no temporary file is needed to recover.
    const snapshot = JSON.parse(readFileSync(path, 'utf8')) as { records: Array<{ aor: string }> };
    const inFile = new Set(snapshot.records.map((r) => r.aor));
    // Every save older than the loss window (flush interval + one write; 1 s of slack for a loaded machine) is in the file.
    const old = saves.filter((s) => s.at <= killedAt - flushMs - 1000);
    expect(old.length).toBeGreaterThan(10);
    for (const s of old) expect(inFile.has(`sip:u${s.n}@example.com`)).toBe(true);
    // What the file holds is a prefix of what was saved (one consistent moment).
    const count = inFile.size;
    expect([...inFile].sort()).toEqual(Array.from({ length: count }, (_, n) => `sip:u${n}@example.com`).sort());
    expect(readdirSync(dir).filter((f) => f.startsWith('bindings.json'))).toContain('bindings.json');

    // And a new store starts from it.
    const store = await FileLocationStore.open({ path, clock: () => Date.UTC(2029, 0, 1) });
    expect(store.size).toBe(count);
    await store.close();
  });
});
