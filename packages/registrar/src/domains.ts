import { RegistrarOptionsError } from './errors.js';

/** Tells whether a host is one of the served domains. */
export type DomainMatcher = (host: string) => boolean;

const LABELS = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const IP_LITERAL = /^[0-9a-f:.]+$/;

function bare(host: string): string {
  const h = host.trim().toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * Builds a matcher for served domains. Each pattern is one of:
 * - `example.com` — exactly that host (case-insensitive; IP literals too, IPv6 with or without `[]`);
 * - `*.example.com` — any host that ends with `.example.com` at a dot boundary
 *   (`a.example.com`, `a.b.example.com`; not `example.com`, not `badexample.com`);
 * - `*` — any host.
 *
 * Net::SIP matches suffixes without a dot boundary (`badexample.com` matches `example.com`,
 * reference §10 item 15); this does not. Throws {@link RegistrarOptionsError} for a bad pattern.
 */
export function createDomainMatcher(domains: readonly string[]): DomainMatcher {
  if (domains.length === 0) throw new RegistrarOptionsError('domains must name at least one domain (use "*" for any)');
  const exact = new Set<string>();
  const suffixes: string[] = [];
  let any = false;
  for (const pattern of domains) {
    if (typeof pattern !== 'string') throw new RegistrarOptionsError('domains must be strings');
    const p = bare(pattern);
    if (p === '*') any = true;
    else if (p.startsWith('*.')) {
      const rest = p.slice(2);
      if (!LABELS.test(rest)) throw new RegistrarOptionsError(`bad domain pattern "${pattern}"`);
      suffixes.push(`.${rest}`);
    } else if (LABELS.test(p) || (IP_LITERAL.test(p) && p.includes(':'))) exact.add(p);
    else throw new RegistrarOptionsError(`bad domain "${pattern}" (expected host, *.suffix or *)`);
  }
  if (any) return () => true;
  return (host: string): boolean => {
    const h = bare(host);
    if (exact.has(h)) return true;
    for (const s of suffixes) if (h.length > s.length && h.endsWith(s)) return true;
    return false;
  };
}
