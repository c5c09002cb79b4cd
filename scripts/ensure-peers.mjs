#!/usr/bin/env node
// Makes sure the real peers the tests drive (scripts/peers.json: sipp, Net::SIP, redis-server …)
// are installed, before `pnpm test` spends minutes finding out one test at a time.
//
//   all present                      → exit 0, silent (a few ms)
//   missing, root (or sudo -n) with apt-get, SIPWAY_PEERS_INSTALL not "never"
//                                    → apt-get update, apt-get install (quiet, non-interactive),
//                                      check again, exit 0 or 1
//   missing otherwise                → exit 1 within seconds, naming the Debian packages to install
//
// SIPWAY_PEERS_INSTALL=never forbids installing (report only); SIPWAY_PEERS_FILE names another
// list (tests of this script). Node built-ins only: it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const listFile = process.env.SIPWAY_PEERS_FILE ?? new URL('./peers.json', import.meta.url);
const { peers } = JSON.parse(readFileSync(listFile, 'utf8'));
// A check that hangs (a broken perl) must not hold the test run: each one is bounded.
const CHECK_TIMEOUT_MS = 10_000;

/** Absolute path of `command` on PATH, or undefined. */
function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why `peer` is missing, or undefined when it is there. */
function missingReason(peer) {
  const file = onPath(peer.command);
  if (file === undefined) return `${peer.command} not found on PATH`;
  if (peer.args === undefined) return undefined;
  const r = spawnSync(file, peer.args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: CHECK_TIMEOUT_MS, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  const detail = (r.error?.message ?? r.stderr ?? '').split('\n')[0].slice(0, 160);
  return `\`${peer.command} ${peer.args.join(' ')}\` failed${detail ? `: ${detail}` : ''}`;
}

function missingPeers() {
  return peers.map((peer) => ({ peer, reason: missingReason(peer) })).filter((m) => m.reason !== undefined);
}

function report(missing, why) {
  const packages = [...new Set(missing.map((m) => m.peer.debian))];
  process.stderr.write(
    `ensure-peers: the tests need real peers that are not installed:\n` +
      missing.map((m) => `  - ${m.peer.debian} (${m.reason}): ${m.peer.for}\n`).join('') +
      `${why}\nInstall them with:\n  sudo apt-get install -y --no-install-recommends ${packages.join(' ')}\n` +
      `(or run \`node scripts/ensure-peers.mjs\` as root). The list is scripts/peers.json.\n`,
  );
}

/** How to run apt-get with privileges: [] as root, ['sudo', '-n'] with passwordless sudo, else undefined. */
function privilege() {
  if (process.getuid?.() === 0) return [];
  const sudo = onPath('sudo');
  if (sudo !== undefined && spawnSync(sudo, ['-n', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0) return [sudo, '-n'];
  return undefined;
}

function run(prefix, argv) {
  const [cmd, ...rest] = [...prefix, ...argv];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = spawnSync(cmd, rest, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env });
  if (r.status !== 0) {
    process.stderr.write(`ensure-peers: ${[cmd, ...rest].join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})\n${(r.stderr ?? '').slice(-2000)}\n`);
    return false;
  }
  return true;
}

const missing = missingPeers();
if (missing.length === 0) process.exit(0);

const mode = process.env.SIPWAY_PEERS_INSTALL ?? 'auto';
if (mode !== 'auto' && mode !== 'never') {
  process.stderr.write(`ensure-peers: SIPWAY_PEERS_INSTALL must be auto or never, not "${mode}"\n`);
  process.exit(2);
}
const aptGet = onPath('apt-get');
const prefix = mode === 'never' || aptGet === undefined ? undefined : privilege();
if (prefix === undefined) {
  const why =
    mode === 'never'
      ? 'Not installing them: SIPWAY_PEERS_INSTALL=never.'
      : aptGet === undefined
        ? 'Not installing them: apt-get is not on PATH (a Debian or Ubuntu machine is expected).'
        : 'Not installing them: not running as root, and sudo needs a password.';
  report(missing, why);
  process.exit(1);
}

const packages = [...new Set(missing.map((m) => m.peer.debian))];
process.stderr.write(`ensure-peers: installing ${packages.join(' ')} with apt-get\n`);
if (!run(prefix, [aptGet, 'update', '-qq']) || !run(prefix, [aptGet, 'install', '-y', '-qq', '--no-install-recommends', ...packages])) {
  report(missing, 'apt-get did not install them.');
  process.exit(1);
}
const still = missingPeers();
if (still.length > 0) {
  report(still, 'apt-get ran, but they are still missing.');
  process.exit(1);
}
process.stderr.write(`ensure-peers: installed ${packages.join(' ')}\n`);
