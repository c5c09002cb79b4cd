import * as crypto from 'node:crypto';
import type { Leg } from '@sipway/sip-leg';

// crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object: about twice as fast
// for the short inputs of the branch and To-tag hashes. engines allows 20.11, hence the fallback.
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/** md5 of a UTF-8 string, lower-case hex. */
export function md5(text: string): string {
  return oneShot !== undefined ? oneShot('md5', text, 'hex') : crypto.createHash('md5').update(text).digest('hex');
}

const bases = new WeakMap<Leg, { key: string; base: string }>();

/**
 * A leg's `branchBase`, cached: sip-leg computes it (an md5) on every read, and the proxy reads
 * it for every Via of every message. Keyed on what it depends on, since the port is only known
 * after start.
 */
export function branchBaseOf(leg: Leg): string {
  const key = `${leg.address}|${leg.port}|${leg.transport}`;
  const cached = bases.get(leg);
  if (cached !== undefined && cached.key === key) return cached.base;
  const base = leg.branchBase;
  bases.set(leg, { key, base });
  return base;
}
