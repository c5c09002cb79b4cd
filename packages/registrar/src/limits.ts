import { BlockList, isIP } from 'node:net';
import { sourceKey } from '@sipway/sip-leg';
import type { Binding } from './binding.js';
import { RegistrarOptionsError } from './errors.js';

export { sourceKey };

/** Addresses and CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`), checked once. */
export function addressList(entries: readonly string[], option: string): (address: string) => boolean {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = String(raw).trim();
    const slash = entry.indexOf('/');
    const address = (slash === -1 ? entry : entry.slice(0, slash)).replace(/^\[(.*)\]$/, '$1');
    const family = isIP(address);
    if (family === 0) throw new RegistrarOptionsError(`${option}: "${raw}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash === -1) {
      list.addAddress(address, type);
      continue;
    }
    const bits = entry.slice(slash + 1);
    const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
    if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new RegistrarOptionsError(`${option}: "${raw}" has a bad prefix length`);
    list.addSubnet(address, prefix, type);
  }
  if (entries.length === 0) return () => false;
  return (address) => {
    const a = sourceKey(address, 128);
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * Which AORs each source address holds bindings in, in this process: source → AOR → when its
 * last binding from that source lapses (epoch ms). Kept up to date from every save this
 * registrar makes; lapsed entries are dropped when counted and by the sweep. Bounded by the
 * bindings this process created.
 */
export class SourceIndex {
  readonly #bySource = new Map<string, Map<string, number>>();
  readonly #ipv6Prefix: number;

  /** IPv6 sources are counted per prefix of `ipv6Prefix` bits. */
  constructor(ipv6Prefix = 64) {
    this.#ipv6Prefix = ipv6Prefix;
  }

  /** The key `address` is counted under. */
  key(address: string): string {
    return sourceKey(address, this.#ipv6Prefix);
  }

  /** AORs `source` holds a live binding in. */
  count(source: string, now: number): number {
    const aors = this.#bySource.get(source);
    if (aors === undefined) return 0;
    for (const [aor, until] of aors) if (until <= now) aors.delete(aor);
    if (aors.size === 0) this.#bySource.delete(source);
    return aors.size;
  }

  /** True when `source` already holds a live binding in `aor`. */
  holds(source: string, aor: string, now: number): boolean {
    const until = this.#bySource.get(source)?.get(aor);
    return until !== undefined && until > now;
  }

  /** Records that `aor` went from `before` to `after` bindings. */
  update(aor: string, before: readonly Binding[], after: readonly Binding[]): void {
    const latest = new Map<string, number>();
    for (const b of after) {
      if (b.source === undefined) continue;
      const key = this.key(b.source.address);
      latest.set(key, Math.max(latest.get(key) ?? 0, b.expires));
    }
    for (const b of before) {
      if (b.source === undefined) continue;
      const key = this.key(b.source.address);
      if (latest.has(key)) continue;
      const aors = this.#bySource.get(key);
      aors?.delete(aor);
      if (aors?.size === 0) this.#bySource.delete(key);
    }
    for (const [key, until] of latest) {
      let aors = this.#bySource.get(key);
      if (aors === undefined) this.#bySource.set(key, (aors = new Map()));
      aors.set(aor, until);
    }
  }

  /** Drops what lapsed. */
  prune(now: number): void {
    for (const source of this.#bySource.keys()) this.count(source, now);
  }

  clear(): void {
    this.#bySource.clear();
  }
}

/** Which cap refused a REGISTER. */
export type RegisterLimit = 'bindings-per-aor' | 'aors-per-source' | 'aors';

/**
 * One warn line per source and cap per interval, with the number refused since the last line:
 * a source hammering a cap cannot flood the log.
 * `sipway registrar-limit source=192.0.2.7 limit=aors-per-source refused=37 aor="sip:u99@example.com"`
 */
export class LimitLog {
  readonly #intervalMs: number;
  readonly #last = new Map<string, { until: number; refused: number }>();
  readonly #write: (line: string, data: Record<string, unknown>) => void;

  constructor(write: (line: string, data: Record<string, unknown>) => void, intervalMs = 10_000) {
    this.#write = write;
    this.#intervalMs = intervalMs;
  }

  /** `key`: what the cap counts (an IPv6 /64); `source`: the address written in the line. */
  refused(limit: RegisterLimit, key: string, source: string, aor: string, now: number): void {
    const sampled = `${limit} ${key}`;
    const entry = this.#last.get(sampled);
    if (entry !== undefined && entry.until > now) {
      entry.refused++;
      return;
    }
    const refused = (entry?.refused ?? 0) + 1;
    if (this.#last.size >= 10_000) {
      for (const [k, e] of this.#last) if (e.until <= now) this.#last.delete(k);
      if (this.#last.size >= 10_000) this.#last.clear();
    }
    this.#last.set(sampled, { until: now + this.#intervalMs, refused: 0 });
    const line = `sipway registrar-limit source=${source} limit=${limit} refused=${refused} aor=${JSON.stringify(aor.length > 128 ? `${aor.slice(0, 128)}…` : aor)}`;
    this.#write(line, { limit, source, refused, aor });
  }
}
