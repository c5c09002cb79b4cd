/**
 * RFC 3263 §4 client resolution of a SIP or SIPS URI into an ordered list of destinations
 * (transport, IP address, port), with Net::SIP's `domain2proxy` map and an outbound proxy as
 * configured overrides. Failures come back as values carrying the SIP status to answer.
 */
import { isIP } from 'node:net';
import { isSipUri, parseUri, type SipUri, type Uri } from '@sipway/sip-message';
import { defaultPort, isSecureTransport, TRANSPORTS, type Destination, type Transport } from '../destination.js';
import { LegClosedError, LegOptionsError } from '../errors.js';
import { DnsCache, normalizeName, type DnsAnswer } from './dns-cache.js';
import { failure, type ResolveFailure } from './failure.js';
import { DomainProxyMap, parseHop } from './next-hop.js';
import { orderSrv, srvSaysUnavailable, type RandomSource } from './srv-order.js';

/** Options of {@link SipResolver}; all optional. */
export interface ResolverOptions {
  /** DNS servers as `ip` or `ip:port` (`[v6]:port`); default: the system's. */
  servers?: string[] | undefined;
  /** Net::SIP's map of domain → next hop: `example.com`, `*.example.com` or `*` → SIP URI or `host[:port]`. */
  domain2proxy?: Record<string, string> | undefined;
  /** Next hop for every request not matched by `domain2proxy` (SIP URI or `host[:port]`). */
  outboundProxy?: string | undefined;
  /** Upper bound of any cache lifetime in ms (record TTLs below it are honoured); 0 disables the cache. Default 300 000. */
  cacheTtlMs?: number | undefined;
  /** Most DNS answers kept in the cache (expired ones go first, then the oldest). Default 10 000. */
  cacheMaxEntries?: number | undefined;
  /** How long "no such name / no such record" answers are cached, in ms (capped by `cacheTtlMs`). Default 30 000. */
  negativeTtlMs?: number | undefined;
  /** Transports we have legs for; DNS results on others are skipped. Default `['udp', 'tcp', 'tls']`. */
  transports?: Transport[] | undefined;
  /** Timeout of one DNS attempt, in ms. Default 1500. */
  timeoutMs?: number | undefined;
  /** DNS attempts per question before it counts as failed. Default 2. */
  tries?: number | undefined;
  /** Address families looked up for host names, in order of preference. Default `[4, 6]`. */
  families?: Array<4 | 6> | undefined;
  /** Random source for the RFC 2782 weighted choice (tests pin it). Default `Math.random`. */
  random?: RandomSource | undefined;
  /** Clock for cache expiry (tests move it). Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** Per-call options of {@link SipResolver.resolve}. */
export interface ResolveOptions {
  /** Transports allowed for this request, replacing the resolver's `transports`; their order is the preference among SRV fallbacks. */
  transports?: Transport[] | undefined;
  /**
   * Resolve the URI itself, ignoring `domain2proxy` and the outbound proxy: for a response to a
   * Via sent-by (RFC 3263 §5), which goes back where the request came from, never to a proxy.
   */
  direct?: boolean | undefined;
}

/** The result of {@link SipResolver.resolve}: destinations in the order to try them, or why there are none. */
export type ResolveResult = { ok: true; destinations: Destination[] } | ResolveFailure;

// RFC 3263 §4.1 and the IANA "SIP NAPTR Resource Record Services Field" registry (RFC 7118 adds D2W).
const NAPTR_SERVICES: Record<string, Transport> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
  'SIP+D2W': 'ws',
  'SIPS+D2W': 'wss',
};

// RFC 3263 §4.2: SRV service and protocol per transport ("_sips" for TLS). WebSocket has no SRV.
const SRV_PREFIX: Partial<Record<Transport, string>> = {
  udp: '_sip._udp.',
  tcp: '_sip._tcp.',
  tls: '_sips._tcp.',
};

const DEFAULT_TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];

/** Temporary DNS failures seen while resolving one URI; they decide 503 vs 404 when nothing is found. */
interface Trace {
  failures: string[];
}

/**
 * Resolves SIP and SIPS URIs to destinations as RFC 3263 §4 says: an explicit `maddr`, an IP
 * literal, an explicit port (A/AAAA only) or transport parameter, else NAPTR → SRV → A/AAAA.
 * A TTL cache sits under every DNS question. Net::SIP's `domain2proxy` and an outbound proxy
 * override DNS for the request's host.
 *
 * ```ts
 * const resolver = new SipResolver({ servers: ['127.0.0.1:5353'], transports: ['udp', 'tcp'] });
 * const result = await resolver.resolve('sip:alice@example.com');
 * if (result.ok) send(result.destinations[0]); else reply(result.status, result.reason);
 * ```
 * @see RFC 3263 §4, RFC 2782, RFC 3261 §16.6 (outbound proxy), §16.9 and §21 (failure statuses)
 */
export class SipResolver {
  private readonly dns: DnsCache;
  private readonly transports: readonly Transport[];
  private readonly families: ReadonlyArray<4 | 6>;
  private readonly random: RandomSource;
  private readonly domainProxies: DomainProxyMap;
  private readonly outboundProxy: SipUri | undefined;
  private closed = false;

  /** @throws LegOptionsError when an option is invalid (checked once, here). */
  constructor(options: ResolverOptions = {}) {
    this.transports = checkTransports(options.transports, 'transports') ?? DEFAULT_TRANSPORTS;
    const families = options.families ?? [4, 6];
    if (families.length === 0 || families.some((f) => f !== 4 && f !== 6) || new Set(families).size !== families.length) {
      throw new LegOptionsError('families: a non-empty list of 4 and/or 6');
    }
    this.families = [...families];
    this.random = options.random ?? Math.random;
    this.domainProxies = new DomainProxyMap(options.domain2proxy);
    this.outboundProxy = options.outboundProxy === undefined ? undefined : parseHop(options.outboundProxy, 'outboundProxy');
    const timeoutMs = checkNumber(options.timeoutMs, 'timeoutMs', 1500, 1);
    const tries = checkNumber(options.tries, 'tries', 2, 1);
    if (!Number.isInteger(tries)) throw new LegOptionsError('tries: a whole number ≥ 1');
    const cacheTtlMs = checkNumber(options.cacheTtlMs, 'cacheTtlMs', 300_000, 0);
    const negativeTtlMs = checkNumber(options.negativeTtlMs, 'negativeTtlMs', 30_000, 0);
    const maxEntries = checkNumber(options.cacheMaxEntries, 'cacheMaxEntries', 10_000, 1);
    if (options.servers !== undefined && (!Array.isArray(options.servers) || options.servers.length === 0)) {
      throw new LegOptionsError('servers: a non-empty list of ip or ip:port');
    }
    try {
      this.dns = new DnsCache({
        servers: options.servers,
        timeoutMs,
        tries,
        cacheTtlMs,
        negativeTtlMs,
        maxEntries,
        now: options.now ?? Date.now,
      });
    } catch (error) {
      throw new LegOptionsError(`servers: ${(error as Error).message}`);
    }
  }

  /**
   * Resolves a URI (text or parsed) to destinations in the order to try them. Never throws for
   * protocol outcomes: a URI that cannot be resolved gives `{ ok: false, status, reason, code }`.
   * @throws LegClosedError after {@link SipResolver.close}.
   * @see RFC 3263 §4
   */
  async resolve(uri: string | Uri, options: ResolveOptions = {}): Promise<ResolveResult> {
    if (this.closed) throw new LegClosedError('SipResolver');
    const transports = checkTransports(options.transports, 'resolve transports') ?? this.transports;
    const viaProxies = options.direct !== true;
    let parsed: Uri;
    if (typeof uri === 'string') {
      try {
        parsed = parseUri(uri);
      } catch (error) {
        return failure('BAD_URI', `cannot parse '${uri}': ${(error as Error).message}`);
      }
    } else {
      parsed = uri;
    }
    if (!isSipUri(parsed)) {
      // RFC 3261 §8.1.2: an outbound proxy takes requests whatever their Request-URI scheme.
      if (this.outboundProxy && viaProxies) return this.resolveHop(this.outboundProxy, transports, false, 'outbound proxy');
      return failure('UNSUPPORTED_SCHEME', `no route for a ${parsed.scheme}: URI`);
    }
    const secure = parsed.scheme === 'sips';
    // An explicit maddr is a per-request instruction and wins over configured hops, as in Net::SIP.
    if (viaProxies && maddrOf(parsed) === undefined) {
      const mapped = this.domainProxies.match(parsed.host, parsed.hostType !== 'hostname');
      if (mapped) return this.resolveHop(mapped, transports, secure, 'domain2proxy hop');
      if (this.outboundProxy) return this.resolveHop(this.outboundProxy, transports, secure, 'outbound proxy');
    }
    return this.resolveTarget(parsed, transports, secure);
  }

  /** Forgets every cached DNS answer. */
  clearCache(): void {
    this.dns.clear();
  }

  /** Cancels outstanding DNS questions (their resolutions end with 503) and refuses new ones. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dns.cancel();
  }

  /** A configured hop: resolved like any URI; a sips: request keeps TLS on this hop too (RFC 3261 §26.2.2). */
  private async resolveHop(hop: SipUri, transports: readonly Transport[], secure: boolean, what: string): Promise<ResolveResult> {
    const result = await this.resolveTarget(hop, transports, secure || hop.scheme === 'sips');
    if (!result.ok && result.code === 'NOT_FOUND') {
      return failure('NEXT_HOP_NOT_FOUND', `${what} ${hop.raw}: ${result.detail}`);
    }
    return result;
  }

  /** RFC 3263 §4.1 (transport) and §4.2 (port and address) for one URI, without overrides. */
  private async resolveTarget(uri: SipUri, allowed: readonly Transport[], secure: boolean): Promise<ResolveResult> {
    // RFC 3263 §4.1: a SIPS URI is reached over TLS only (here TLS or secure WebSocket).
    const usable = secure ? allowed.filter(isSecureTransport) : [...allowed];
    if (usable.length === 0) return failure('NO_TRANSPORT', `no ${secure ? 'secure ' : ''}transport to reach ${uri.raw}`);

    // RFC 3263 §4: TARGET is the maddr parameter if present, else the host.
    const target = maddrOf(uri) ?? uri.host;
    const ipFamily = isIP(target);
    const param = uri.params['transport'];
    let forced: Transport | undefined;
    if (typeof param === 'string' && param !== '') {
      forced = transportFromParam(param.toLowerCase(), secure);
      if (forced === undefined || !usable.includes(forced)) {
        return failure('NO_TRANSPORT', `transport=${param} of ${uri.raw} is not one we have a leg for`);
      }
    }

    if (ipFamily !== 0) {
      // RFC 3263 §4.1/§4.2: a numeric TARGET needs no DNS; UDP (TLS for sips) and the default port.
      const transport = forced ?? defaultTransport(usable, secure);
      if (!transport) return failure('NO_TRANSPORT', `no transport to reach ${uri.raw}`);
      const address = target.toLowerCase();
      return ok([{ transport, address, port: uri.port ?? defaultPort(transport), family: ipFamily === 6 ? 6 : 4 }]);
    }

    const name = normalizeName(target);
    // RFC 6761 §6.4: resolvers return a negative answer for `.invalid` at once, never asking DNS.
    if (name === 'invalid' || name.endsWith('.invalid')) {
      return failure('INVALID_NAME', `${name} is a .invalid name (RFC 6761 §6.4): reachable only over a known flow`);
    }
    const trace: Trace = { failures: [] };

    if (uri.port !== undefined) {
      // RFC 3263 §4.2: an explicit port means A/AAAA only, no SRV.
      const transport = forced ?? defaultTransport(usable, secure);
      if (!transport) return failure('NO_TRANSPORT', `no transport to reach ${uri.raw}`);
      return finish(await this.addresses(name, transport, uri.port, name, trace), trace, name);
    }

    if (forced) {
      // RFC 3263 §4.2: transport given, no port: SRV for that transport, else A/AAAA on the default port.
      const srv = await this.srvDestinations(forced, name, trace);
      if (srv.answered) return finish(srv.destinations, trace, name);
      if (srv.failed) return finish([], trace, name);
      return finish(await this.addresses(name, forced, defaultPort(forced), name, trace), trace, name);
    }

    // RFC 3263 §4.1: NAPTR first.
    const naptr = await this.dns.naptr(name);
    if (naptr.kind === 'error') trace.failures.push(`NAPTR ${name}: ${naptr.code}`);
    if (naptr.kind === 'records') {
      const records = naptr.records
        .filter((r) => r.flags.toLowerCase() === 's' && r.replacement !== '')
        .map((r) => ({ ...r, transport: NAPTR_SERVICES[r.service.toUpperCase()] }))
        .filter((r): r is typeof r & { transport: Transport } => r.transport !== undefined && usable.includes(r.transport))
        // RFC 3263 §4.1: only SIPS services for a SIPS URI (usable is already TLS-only then).
        .sort((a, b) => a.order - b.order || a.preference - b.preference);
      if (records.length > 0) {
        const lists = await Promise.all(records.map((r) => this.srvDestinations(r.transport, name, trace, r.replacement)));
        const destinations = lists.flatMap((l) => l.destinations);
        if (destinations.length > 0 || lists.some((l) => l.answered || l.failed)) return finish(destinations, trace, name);
        // RFC 3263 §4.2: no SRV records → A/AAAA of the domain with the transport NAPTR chose.
        const first = records[0] as (typeof records)[number];
        return finish(await this.addresses(name, first.transport, defaultPort(first.transport), name, trace), trace, name);
      }
      // NAPTR records exist but none is for a transport we have: carry on as if there were none.
    }

    // RFC 3263 §4.1: no NAPTR → SRV for each transport we support, in our order of preference.
    const srvTransports = usable.filter((t) => SRV_PREFIX[t] !== undefined);
    const lists = await Promise.all(srvTransports.map((t) => this.srvDestinations(t, name, trace)));
    if (lists.some((l) => l.answered)) return finish(lists.flatMap((l) => l.destinations), trace, name);
    // An SRV question that went unanswered might have had records: do not guess a port from A/AAAA.
    if (lists.some((l) => l.failed)) return finish([], trace, name);

    // RFC 3263 §4.2: no SRV → A/AAAA of the domain, UDP (TCP if we have no UDP leg), default port.
    const transport = defaultTransport(usable, secure);
    if (!transport) return failure('NO_TRANSPORT', `no transport to reach ${uri.raw}`);
    return finish(await this.addresses(name, transport, defaultPort(transport), name, trace), trace, name);
  }

  /**
   * The SRV records of `srvName` (default `_sip._udp.<domain>` etc.) ordered per RFC 2782 and
   * resolved to addresses. `answered`: SRV records exist (even the "." that says "no service");
   * `failed`: the SRV question itself could not be answered.
   */
  private async srvDestinations(
    transport: Transport,
    domain: string,
    trace: Trace,
    srvName?: string,
  ): Promise<{ answered: boolean; failed: boolean; destinations: Destination[] }> {
    const prefix = SRV_PREFIX[transport];
    const name = srvName ?? (prefix === undefined ? undefined : `${prefix}${domain}`);
    if (name === undefined) return { answered: false, failed: false, destinations: [] };
    const answer = await this.dns.srv(name);
    if (answer.kind === 'error') {
      trace.failures.push(`SRV ${name}: ${answer.code}`);
      return { answered: false, failed: true, destinations: [] };
    }
    if (answer.kind === 'none') return { answered: false, failed: false, destinations: [] };
    // RFC 2782: a lone target of "." means the service is decidedly not available here.
    if (srvSaysUnavailable(answer.records)) return { answered: true, failed: false, destinations: [] };
    const ordered = orderSrv(
      answer.records.filter((r) => r.name !== '' && r.name !== '.'),
      this.random,
    );
    const lists = await Promise.all(ordered.map((r) => this.addresses(r.name, transport, r.port, domain, trace)));
    return { answered: true, failed: false, destinations: lists.flat() };
  }

  /** A and AAAA of `name` (in the configured family order) as destinations on `transport`/`port`. */
  private async addresses(name: string, transport: Transport, port: number, hostname: string, trace: Trace): Promise<Destination[]> {
    const answers = await Promise.all(this.families.map((f) => (f === 4 ? this.dns.a(name) : this.dns.aaaa(name))));
    const destinations: Destination[] = [];
    answers.forEach((answer: DnsAnswer<{ address: string; family: 4 | 6 }>, i) => {
      if (answer.kind === 'records') {
        for (const r of answer.records) destinations.push({ transport, address: r.address, port, family: r.family, hostname });
      } else if (answer.kind === 'error') {
        trace.failures.push(`${this.families[i] === 4 ? 'A' : 'AAAA'} ${name}: ${answer.code}`);
      }
    });
    return destinations;
  }
}

function ok(destinations: Destination[]): ResolveResult {
  return { ok: true, destinations };
}

/** Destinations found → success (duplicates removed); none → 503 if DNS failed somewhere, else 404. */
function finish(destinations: Destination[], trace: Trace, name: string): ResolveResult {
  if (destinations.length > 0) {
    const seen = new Set<string>();
    const unique = destinations.filter((d) => {
      const key = `${d.transport} ${d.address} ${d.port}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return ok(unique);
  }
  if (trace.failures.length > 0) return failure('DNS_FAILURE', `DNS failed for ${name}: ${trace.failures.join('; ')}`);
  return failure('NOT_FOUND', `no SIP server and no address for ${name}`);
}

function maddrOf(uri: SipUri): string | undefined {
  const maddr = uri.params['maddr'];
  if (typeof maddr !== 'string' || maddr === '') return undefined;
  return maddr.startsWith('[') && maddr.endsWith(']') ? maddr.slice(1, -1) : maddr;
}

/**
 * The transport a `transport=` parameter asks for. In a SIPS URI, `tcp` means TLS over TCP and
 * `ws` secure WebSocket (RFC 3261 §26.2.2, RFC 7118 §5); UDP cannot carry SIPS.
 */
function transportFromParam(param: string, secure: boolean): Transport | undefined {
  switch (param) {
    case 'udp':
      return secure ? undefined : 'udp';
    case 'tcp':
      return secure ? 'tls' : 'tcp';
    case 'tls':
      return 'tls';
    case 'ws':
      return secure ? 'wss' : 'ws';
    case 'wss':
      return 'wss';
    default:
      return undefined;
  }
}

/**
 * RFC 3263 §4.1: with nothing else to go by, UDP for SIP and TLS for SIPS. Without a UDP leg a
 * SIP URI is tried over TCP, then TLS (RFC 3261 allows any transport for a sip: URI).
 */
function defaultTransport(usable: readonly Transport[], secure: boolean): Transport | undefined {
  const order: Transport[] = secure ? ['tls'] : ['udp', 'tcp', 'tls'];
  return order.find((t) => usable.includes(t));
}

function checkTransports(value: Transport[] | undefined, what: string): Transport[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((t) => !TRANSPORTS.includes(t))) {
    throw new LegOptionsError(`${what}: a list of ${TRANSPORTS.join(', ')}`);
  }
  return [...new Set(value)];
}

function checkNumber(value: number | undefined, what: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new LegOptionsError(`${what}: a number ≥ ${min}`);
  return value;
}
