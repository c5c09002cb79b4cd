// The packages as npm users install them: every publishable package is packed (pnpm pack, as it
// would be published), linted (publint --strict, attw), installed from the tarballs into a fresh
// npm project in a temporary folder, then required, imported, type-checked under strict consumer
// settings, and each README's first snippet is run there as written. Run by `pnpm check:packages`
// after the packages are built.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, packAll, publishablePackages, entryPoints } from './lib/packages.mjs';
import { runnableSnippets, startRedis, freeTcpPort } from './lib/snippets.mjs';

const execFileAsync = promisify(execFile);
/** execFile that never rejects: `{ code, signal, stdout, stderr }`; a timeout is SIGTERM, not code 0. */
async function run(file, args, options = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { maxBuffer: 64 << 20, ...options });
    return { code: 0, signal: null, stdout, stderr };
  } catch (error) {
    if (typeof error.code === 'string') throw error; // ENOENT: no such program
    return { code: error.code ?? null, signal: error.signal ?? null, stdout: error.stdout ?? '', stderr: error.stderr ?? '' };
  }
}
function assertExited0(result, what) {
  assert.ok(result.code === 0 && result.signal === null, `${what}: exit ${result.code} signal ${result.signal}\n${result.stdout}${result.stderr}`);
}
const BIN = join(ROOT, 'node_modules', '.bin');
const packages = publishablePackages();
let work, tgz, project, tarballs;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'sipway-packages-'));
  tgz = join(work, 'tgz');
  project = join(work, 'consumer');
  mkdirSync(tgz);
  mkdirSync(project);
  tarballs = packAll(tgz);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
  // Sibling tarballs installed together, as a user installing from the registry would get them;
  // @types/node for the type checks below, ioredis for the registrar's Redis store (optional peer).
  const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs.values(), '@types/node@20', 'ioredis@5'], {
    cwd: project,
    timeout: 300_000,
  });
  assertExited0(installed, 'npm install');
}, { timeout: 600_000 });

after(() => {
  if (work !== undefined && process.env.SIPWAY_KEEP_PACKAGES === undefined) rmSync(work, { recursive: true, force: true });
});

for (const { name } of packages) {
  test(`${name}: publint --strict`, async () => {
    const result = await run(join(BIN, 'publint'), ['run', tarballs.get(name), '--strict']);
    assertExited0(result, 'publint');
    assert.match(result.stdout, /All good!/);
  });
  if (name === '@sipway/cli') continue; // a command, no types: nothing for attw to resolve
  test(`${name}: attw (esm-only profile: require(esm) is what CommonJS consumers use)`, async () => {
    // attw knows no require(esm) yet (arethetypeswrong issue #252): its node16-cjs column would
    // say "ESM (dynamic import only)" although Node ^20.19 / >=22.12 require it. The esm-only
    // profile leaves out that column and node10; the CommonJS test below requires every entry.
    assertExited0(await run(join(BIN, 'attw'), [tarballs.get(name), '--profile', 'esm-only', '--format', 'ascii']), 'attw');
  });
}

test('every entry point is require()d and import()ed from a fresh npm project', async () => {
  const entries = packages.flatMap(({ manifest }) => entryPoints(manifest));
  assert.ok(entries.length >= 15, `entries: ${entries.join(' ')}`);
  writeFileSync(
    join(project, 'require-all.cjs'),
    `for (const e of ${JSON.stringify(entries)}) { const m = require(e); if (Object.keys(m).length === 0) throw new Error(e + ': no exports'); }\nconsole.log('required', ${entries.length});\n`,
  );
  writeFileSync(
    join(project, 'import-all.mjs'),
    `for (const e of ${JSON.stringify(entries)}) { const m = await import(e); if (Object.keys(m).length === 0) throw new Error(e + ': no exports'); }\nconsole.log('imported', ${entries.length});\n`,
  );
  const r = await run(process.execPath, ['require-all.cjs'], { cwd: project });
  assertExited0(r, 'require');
  assert.equal(r.stdout.trim(), `required ${entries.length}`);
  assert.doesNotMatch(r.stderr, /ExperimentalWarning/, 'require(esm) must not warn on this Node');
  const i = await run(process.execPath, ['import-all.mjs'], { cwd: project });
  assertExited0(i, 'import');
  assert.equal(i.stdout.trim(), `imported ${entries.length}`);
});

const consumerSettings = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};
for (const [label, resolution] of Object.entries(consumerSettings)) {
  test(`types: every entry point under strict, exactOptionalPropertyTypes, skipLibCheck false, ${label}`, async () => {
    const entries = packages.filter(({ name }) => name !== '@sipway/cli').flatMap(({ manifest }) => entryPoints(manifest));
    const dir = join(project, `types-${label}`);
    mkdirSync(dir, { recursive: true });
    const lines = entries.map((e, i) => `import * as m${i} from '${e}';\nexport const v${i}: object = m${i};`);
    writeFileSync(join(dir, 'index.mts'), `${lines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          ...resolution,
          target: 'es2022',
          lib: ['es2023'],
          types: ['node'],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['index.mts'],
      }),
    );
    const result = await run(join(BIN, 'tsc'), ['-p', dir], { cwd: project });
    assertExited0(result, 'tsc');
  });
}

test('types: a CommonJS TypeScript consumer (module nodenext, TS >= 5.8) requires the packages', async () => {
  const dir = join(project, 'types-cjs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.cts'),
    "import sipMessage = require('@sipway/sip-message');\nimport udp = require('@sipway/sip-leg/udp');\n" +
      "export const parsed = sipMessage.parseMessage('OPTIONS sip:a@b SIP/2.0\\r\\n\\r\\n');\nexport const Leg: typeof udp.UdpLeg = udp.UdpLeg;\n",
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true },
      files: ['index.cts'],
    }),
  );
  const result = await run(join(BIN, 'tsc'), ['-p', dir], { cwd: project });
  assertExited0(result, 'tsc');
});

test('types: options take an explicit undefined under exactOptionalPropertyTypes (a value read from the environment)', async () => {
  const dir = join(project, 'types-exact-optional');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.mts'),
    [
      "import type { StatelessProxyOptions } from '@sipway/proxy';",
      "import type { RegistrarOptions } from '@sipway/registrar';",
      "import type { DigestAuthenticatorOptions, RateLimiterOptions } from '@sipway/auth';",
      "import type { DispatcherOptions } from '@sipway/sip-leg';",
      "import type { BuiltinMediaRelayOptions } from '@sipway/media-relay';",
      "import type { ReceiveChainOptions } from '@sipway/receive-chain';",
      'const fromEnv: string | undefined = process.env.SOMETHING;',
      'export const proxy: Partial<StatelessProxyOptions> = { contactKey: fromEnv, logger: undefined, mediaRelay: undefined, selectLeg: undefined };',
      'export const registrar: Partial<RegistrarOptions> = { logger: undefined, store: undefined };',
      'export const auth: Partial<DigestAuthenticatorOptions> = { nonceSecret: fromEnv, logger: undefined };',
      'export const limiter: Partial<RateLimiterOptions> = { logger: undefined };',
      'export const dispatcher: Partial<DispatcherOptions> = { resolver: undefined };',
      'export const media: Partial<BuiltinMediaRelayOptions> = { logger: undefined };',
      'export const chain: Partial<ReceiveChainOptions> = { logger: undefined };',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023'], types: ['node'], strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true },
      files: ['index.mts'],
    }),
  );
  const result = await run(join(BIN, 'tsc'), ['-p', dir], { cwd: project });
  assertExited0(result, 'tsc');
});

for (const { name, dir } of packages) {
  const snippets = runnableSnippets(readFileSync(join(dir, 'README.md'), 'utf8'));
  test(`${name}: the README has a js/ts snippet`, () => assert.ok(snippets.length > 0));
  for (const [n, snippet] of snippets.entries()) {
    test(`${name}: README snippet at line ${snippet.line} runs as written from the fresh project and exits`, async () => {
      const base = `snippet-${name.replace(/^@sipway\//, '')}-${n}`;
      const file = join(project, `${base}.mjs`);
      if (snippet.lang === 'ts') {
        // TypeScript snippets are type-checked against the packed types, then run as JavaScript.
        const src = join(project, 'snippets-ts');
        mkdirSync(src, { recursive: true });
        writeFileSync(join(src, `${base}.mts`), snippet.code);
        writeFileSync(
          join(src, `${base}.tsconfig.json`),
          JSON.stringify({
            compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023'], types: ['node'], strict: true, skipLibCheck: false, outDir: '..', rootDir: '.' },
            files: [`${base}.mts`],
          }),
        );
        const tsc = await run(join(BIN, 'tsc'), ['-p', join(src, `${base}.tsconfig.json`)], { cwd: project });
        assertExited0(tsc, 'tsc');
      } else {
        writeFileSync(file, snippet.code);
      }
      // A snippet that names SIPWAY_REDIS_URL gets a real redis-server on a free port.
      const redis = snippet.code.includes('SIPWAY_REDIS_URL') ? await startRedis() : undefined;
      try {
        const env = { ...process.env, ...(redis === undefined ? {} : { SIPWAY_REDIS_URL: redis.url }) };
        const result = await run(process.execPath, [file], { cwd: project, timeout: 30_000, env });
        assertExited0(result, 'snippet');
      } finally {
        await redis?.stop();
      }
    });
  }
}

test('@sipway/cli: npx sipway --version and --help from the fresh project', async () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'packages', 'cli', 'package.json'), 'utf8')).version;
  const v = await run('npx', ['--no-install', 'sipway', '--version'], { cwd: project });
  assertExited0(v, 'sipway --version');
  assert.equal(v.stdout.trim(), version);
  const h = await run('npx', ['--no-install', 'sipway', '--help'], { cwd: project });
  assertExited0(h, 'sipway --help');
  assert.match(h.stdout, /proxy/);
  assert.match(h.stdout, /registrar/);
  const ph = await run('npx', ['--no-install', 'sipway', 'proxy', '--help'], { cwd: project });
  assertExited0(ph, 'sipway proxy --help');
  for (const flag of ['--leg', '--domain', '--contact-key', '--store', '--auth-user', '--admin']) assert.match(ph.stdout, new RegExp(flag));
  const bad = await run('npx', ['--no-install', 'sipway', 'nonsense'], { cwd: project });
  assert.equal(bad.code, 2);
});

test('@sipway/cli: npx sipway proxy answers OPTIONS on a UDP leg and exits 0 on SIGTERM', async () => {
  const port = await freeTcpPort();
  // The installed bin itself, as npx finds it: npm exec would report 143 for its own SIGTERM.
  const child = spawn(join(project, 'node_modules', '.bin', 'sipway'), ['proxy', '--leg', `udp:127.0.0.1:${port}`, '--domain', 'example.com'], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(() => /listening on udp/.test(out), 20_000, () => `no listening line:\n${out}`);
    // The random Contact key is announced at start-up, not at the first rewrite.
    assert.match(out, /no contact key configured/);
    const socket = createSocket('udp4');
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const local = socket.address().port;
    const answer = new Promise((resolve) => socket.once('message', (m) => resolve(m.toString())));
    const options =
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bKcli1;rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:ops@example.com>;tag=1\r\nTo: <sip:127.0.0.1:${port}>\r\nCall-ID: cli-test-1\r\n` +
      `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    socket.send(options, port, '127.0.0.1');
    const response = await Promise.race([answer, new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer to OPTIONS:\n${out}`)), 10_000))]);
    socket.close();
    assert.match(response, /^SIP\/2\.0 200 /);
    assert.match(response, /CSeq: 1 OPTIONS/);
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(signal, null, out);
    assert.equal(code, 0, out);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

async function waitFor(check, timeoutMs, message) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 50));
  }
}
