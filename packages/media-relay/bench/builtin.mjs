// Benchmark driver: @sipway/media-relay's BuiltinMediaRelay (built dist/) in a process of its own.
import { fileURLToPath } from 'node:url';
import { runDriver } from './lib/generator.mjs';
import { portBase, spawnServer } from './lib/spawn-server.mjs';

const server = fileURLToPath(new URL('./lib/builtin-server.mjs', import.meta.url));
await runDriver('sipway built-in (Node.js)', (streams, a, b) => spawnServer(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []), server, String(streams), String(a.port), String(b.port), String(portBase())]));
