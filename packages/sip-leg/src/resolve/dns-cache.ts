/**
 * node:dns queries behind a TTL cache. Positive answers live as long as their records' TTL
 * (capped); NXDOMAIN and NODATA answers are cached for a shorter negative TTL; temporary
 * failures (timeout, SERVFAIL, refused) are never cached. Concurrent questions for the same
 * name and type share one query.
 */
import { promises as dns } from 'node:dns';
import type { SrvRecord } from './srv-order.js';

/** A NAPTR record as node:dns returns it. */
export interface NaptrRecord {
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
  order: number;
  preference: number;
}

/** One IP address from an A or AAAA answer. */
export interface AddressRecord {
  address: string;
  family: 4 | 6;
}

/**
 * The outcome of one DNS question:
 * - `records`: the answer (never empty);
 * - `none`: the name does not exist (NXDOMAIN) or has no record of that type (NODATA);
 * - `error`: the question could not be answered (timeout, SERVFAIL, refused, network) — a
 *   temporary condition, so it is not cached.
 */
export type DnsAnswer<T> =
  | { kind: 'records'; records: T[] }
  | { kind: 'none'; code: string }
  | { kind: 'error'; code: string };

export interface DnsCacheOptions {
  servers?: string[] | undefined;
  timeoutMs: number;
  tries: number;
  /** Upper bound of any cache lifetime; 0 turns the cache off. */
  cacheTtlMs: number;
  negativeTtlMs: number;
  /** Most answers kept; beyond it expired ones are swept, then the oldest dropped. */
  maxEntries: number;
  now: () => number;
}

type QueryType = 'A' | 'AAAA' | 'SRV' | 'NAPTR';

interface Entry {
  expiresAt: number;
  answer: DnsAnswer<unknown>;
}

// c-ares error codes that are a definitive "no such record" rather than a failure to ask.
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

/** Lower-case, without the trailing dot: the cache key form of a domain name. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export class DnsCache {
  private readonly resolver: dns.Resolver;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<DnsAnswer<unknown>>>();
  private cancelled = false;

  constructor(private readonly options: DnsCacheOptions) {
    this.resolver = new dns.Resolver({ timeout: options.timeoutMs, tries: options.tries });
    if (options.servers && options.servers.length > 0) this.resolver.setServers(options.servers);
  }

  naptr(name: string): Promise<DnsAnswer<NaptrRecord>> {
    return this.query('NAPTR', name) as Promise<DnsAnswer<NaptrRecord>>;
  }

  srv(name: string): Promise<DnsAnswer<SrvRecord>> {
    return this.query('SRV', name) as Promise<DnsAnswer<SrvRecord>>;
  }

  a(name: string): Promise<DnsAnswer<AddressRecord>> {
    return this.query('A', name) as Promise<DnsAnswer<AddressRecord>>;
  }

  aaaa(name: string): Promise<DnsAnswer<AddressRecord>> {
    return this.query('AAAA', name) as Promise<DnsAnswer<AddressRecord>>;
  }

  /** Forgets every cached answer. */
  clear(): void {
    this.entries.clear();
  }

  /** Number of cached answers that have not expired yet. */
  get size(): number {
    const now = this.options.now();
    let n = 0;
    for (const e of this.entries.values()) if (e.expiresAt > now) n++;
    return n;
  }

  /** Cancels outstanding queries and refuses new ones: they end as `error` answers, code ECANCELLED. */
  cancel(): void {
    this.cancelled = true;
    this.resolver.cancel();
  }

  private query(type: QueryType, rawName: string): Promise<DnsAnswer<unknown>> {
    if (this.cancelled) return Promise.resolve({ kind: 'error', code: 'ECANCELLED' });
    const name = normalizeName(rawName);
    const key = `${type} ${name}`;
    const cached = this.entries.get(key);
    if (cached) {
      if (cached.expiresAt > this.options.now()) return Promise.resolve(cached.answer);
      this.entries.delete(key);
    }
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const promise = this.ask(type, name).then(({ answer, ttlMs }) => {
      this.inflight.delete(key);
      if (ttlMs > 0) this.store(key, { expiresAt: this.options.now() + ttlMs, answer });
      return answer;
    });
    this.inflight.set(key, promise);
    return promise;
  }

  private async ask(type: QueryType, name: string): Promise<{ answer: DnsAnswer<unknown>; ttlMs: number }> {
    const { cacheTtlMs } = this.options;
    // A trailing dot makes the name absolute, so the system's search domains are never appended:
    // a SIP host is always a fully qualified domain (RFC 3263 §4).
    const fqdn = `${name}.`;
    try {
      switch (type) {
        case 'A':
        case 'AAAA': {
          const family = type === 'A' ? 4 : 6;
          const list =
            type === 'A'
              ? await this.resolver.resolve4(fqdn, { ttl: true })
              : await this.resolver.resolve6(fqdn, { ttl: true });
          if (list.length === 0) return { answer: { kind: 'none', code: 'ENODATA' }, ttlMs: this.negativeTtl() };
          const minTtl = Math.min(...list.map((r) => r.ttl));
          const records: AddressRecord[] = list.map((r) => ({ address: r.address.toLowerCase(), family }));
          return { answer: { kind: 'records', records }, ttlMs: Math.min(minTtl * 1000, cacheTtlMs) };
        }
        case 'SRV': {
          const list = await this.resolver.resolveSrv(fqdn);
          if (list.length === 0) return { answer: { kind: 'none', code: 'ENODATA' }, ttlMs: this.negativeTtl() };
          const records: SrvRecord[] = list.map((r) => ({
            priority: r.priority,
            weight: r.weight,
            port: r.port,
            name: normalizeName(r.name),
          }));
          // node:dns does not report SRV/NAPTR TTLs, so these live for the cap.
          return { answer: { kind: 'records', records }, ttlMs: cacheTtlMs };
        }
        case 'NAPTR': {
          const list = await this.resolver.resolveNaptr(fqdn);
          if (list.length === 0) return { answer: { kind: 'none', code: 'ENODATA' }, ttlMs: this.negativeTtl() };
          const records: NaptrRecord[] = list.map((r) => ({ ...r, replacement: normalizeName(r.replacement) }));
          return { answer: { kind: 'records', records }, ttlMs: cacheTtlMs };
        }
      }
    } catch (error) {
      const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'EUNKNOWN';
      if (NEGATIVE.has(code)) return { answer: { kind: 'none', code }, ttlMs: this.negativeTtl() };
      return { answer: { kind: 'error', code }, ttlMs: 0 };
    }
  }

  // A proxy sees unbounded distinct domains: keep the cache bounded (Map order = insertion order).
  private store(key: string, entry: Entry): void {
    this.entries.delete(key);
    if (this.entries.size >= this.options.maxEntries) {
      const now = this.options.now();
      for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
      for (const k of this.entries.keys()) {
        if (this.entries.size < this.options.maxEntries) break;
        this.entries.delete(k);
      }
    }
    this.entries.set(key, entry);
  }

  private negativeTtl(): number {
    return Math.min(this.options.negativeTtlMs, this.options.cacheTtlMs);
  }
}
