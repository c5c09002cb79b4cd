import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** One line of `scripts/peers.json`: a Debian package and the command that proves it. */
export interface PeerSpec {
  debian: string;
  command: string;
  /** When given, `command ...args` must exit 0 (e.g. `perl -MNet::SIP -e 1`). */
  args?: string[];
  for: string;
}

/** The repository's one list of test peers (also read by scripts/ensure-peers.mjs and .ci/run). */
export const PEERS_FILE = new URL('../../../scripts/peers.json', import.meta.url);
export const PEERS: readonly PeerSpec[] = (JSON.parse(readFileSync(PEERS_FILE, 'utf8')) as { peers: PeerSpec[] }).peers;

function peerFor(what: string): PeerSpec | undefined {
  return PEERS.find((p) => p.debian === what) ?? PEERS.find((p) => p.command === what);
}

/** A clear error for a peer that cannot run: names the Debian package and how to install it. */
export function missingPeerError(what: string, cause?: unknown): Error {
  const peer = peerFor(what);
  const reason = cause instanceof Error ? cause.message : cause === undefined ? 'not installed' : String(cause);
  const name = peer === undefined ? what : `${peer.command} (Debian package ${peer.debian})`;
  const install = peer === undefined ? '' : ` Install it: sudo apt-get install -y ${peer.debian}, or run node scripts/ensure-peers.mjs as root.`;
  return new Error(`test peer missing: cannot run ${name}: ${reason}.${install}`);
}

/**
 * `spawn()` for a peer program. When it cannot start (ENOENT: not installed, EACCES …) Node
 * emits `error` and never `exit`, so a helper waiting for `exit` would sit until its timeout:
 * `onError` gets a {@link missingPeerError} at once instead; reject the helper's promise with it.
 */
export function spawnPeer(command: string, args: readonly string[], options: SpawnOptions, onError: (error: Error) => void): ChildProcess {
  const child = spawn(command, args, options);
  child.once('error', (error) => onError(missingPeerError(command, error)));
  return child;
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Throws a {@link missingPeerError} unless the peer (by Debian package or command) is installed,
 * with the check of scripts/peers.json: for a `beforeAll` of a suite that needs it.
 */
export function requirePeer(what: string): void {
  const peer = peerFor(what);
  if (peer === undefined) throw new Error(`requirePeer: ${what} is not in scripts/peers.json`);
  const file = onPath(peer.command);
  if (file === undefined) throw missingPeerError(what, `${peer.command} not found on PATH`);
  if (peer.args === undefined) return;
  const r = spawnSync(file, peer.args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw missingPeerError(what, `\`${peer.command} ${peer.args.join(' ')}\` failed: ${(r.error?.message ?? r.stderr ?? '').split('\n')[0]}`);
}
