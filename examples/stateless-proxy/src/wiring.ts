/**
 * legs → Dispatcher (with a SipResolver) → ReceiveChain([RateLimiter?, DigestAuthenticator?,
 * Registrar?, StatelessProxy]), the registrar on the store of `--store` being the proxy's
 * location service — Net::SIP's stateless_proxy.pl — and the admin listener of `--admin`.
 */
import { createMetrics, instrumentStore, startAdmin } from '@sipway/admin';
import type { Admin, SipwayMetrics } from '@sipway/admin';
import { DigestAuthenticator, RateLimiter } from '@sipway/auth';
import type { NonceCountStore, SecurityLog } from '@sipway/auth';
import { StatelessProxy } from '@sipway/proxy';
import type { LocationService, MediaRelay } from '@sipway/proxy';
import { ReceiveChain } from '@sipway/receive-chain';
import type { ChainMember } from '@sipway/receive-chain';
import { Registrar } from '@sipway/registrar';
import type { LocationStore } from '@sipway/registrar';
import { Dispatcher, SipResolver } from '@sipway/sip-leg';
import type { Leg } from '@sipway/sip-leg';
import type { Logger } from 'pino';
import type { ProxyConfig } from './config.js';
import { formatLeg, openStore } from '@sipway/example-kit';
import { createLeg } from './legs.js';
import { createMediaRelay } from './media.js';
import { RedisNonceCountStore } from './nonce-counts.js';

/** A running proxy. */
export interface RunningProxy {
  readonly legs: readonly Leg[];
  readonly dispatcher: Dispatcher;
  readonly registrar: Registrar | undefined;
  readonly proxy: StatelessProxy;
  /** The registrar's store (undefined without a registrar). */
  readonly store: LocationStore | undefined;
  readonly admin: Admin | undefined;
  /** Close the legs gracefully, then the registrar, the store (the file store writes its last snapshot), the admin listener and the resolver. Idempotent. */
  close(): Promise<void>;
}

/** A leg's `proxy` applies to its domains (Net::SIP's leg2proxy); a leg without domains or `*` sends everything there. */
function nextHops(config: ProxyConfig): { domain2proxy: Record<string, string>; outboundProxy: string | undefined } {
  const domain2proxy: Record<string, string> = {};
  let outboundProxy = config.proxy;
  for (const leg of config.legs) {
    if (leg.proxy === undefined) continue;
    for (const d of leg.domains) {
      if (d === '*') outboundProxy ??= leg.proxy;
      else domain2proxy[d] = leg.proxy;
    }
  }
  return { domain2proxy, outboundProxy };
}

/** Builds, wires and starts everything. On failure whatever started is closed again. */
export async function startProxy(config: ProxyConfig, logger: Logger): Promise<RunningProxy> {
  const cleanups: Array<() => unknown> = [];
  const undo = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    let metrics: SipwayMetrics | undefined;
    if (config.admin !== undefined) {
      const m = createMetrics({ defaultMetrics: true });
      metrics = m;
      cleanups.push(() => m.dispose());
    }
    const withRegistrar = config.legs.some((l) => l.registrar);
    let raw: LocationStore | undefined;
    if (withRegistrar) {
      const opened = await openStore(config.store, logger.child({ component: 'store' }));
      raw = opened;
      cleanups.push(() => opened.close());
    }
    // Wrapped before the Registrar is built, so every save and lookup is timed.
    const store = raw === undefined || metrics === undefined ? raw : instrumentStore(raw, metrics);

    const legLogger = logger.child({ component: 'leg' });
    const legs: Leg[] = [];
    for (const lc of config.legs) legs.push(await createLeg(lc, legLogger, config.connections));
    const hops = nextHops(config);
    const resolver = new SipResolver({
      transports: [...new Set(config.legs.map((l) => l.transport))],
      ...(Object.keys(hops.domain2proxy).length > 0 ? { domain2proxy: hops.domain2proxy } : {}),
      ...(hops.outboundProxy === undefined ? {} : { outboundProxy: hops.outboundProxy }),
    });
    cleanups.push(() => resolver.close());
    const dispatcher = new Dispatcher({ legs, resolver, logger: legLogger });
    cleanups.push(() => dispatcher.close());

    const registrarLegs = new Set(legs.filter((_, i) => config.legs[i]!.registrar));
    const registrarDomains = [...new Set(config.legs.filter((l) => l.registrar).flatMap((l) => l.domains))];
    const registrar =
      store !== undefined
        ? new Registrar({
            dispatcher,
            domains: registrarDomains,
            store,
            ...(config.flowTimer === undefined ? {} : { flowTimer: config.flowTimer }),
            maxBindings: config.registrarLimits.maxBindings,
            maxAorsPerSource: config.registrarLimits.maxAorsPerSource,
            maxAors: config.registrarLimits.maxAors,
            trustedSources: config.registrarLimits.trustedSources,
            logger: logger.child({ component: 'registrar' }),
          })
        : undefined;
    if (registrar !== undefined) cleanups.push(() => registrar.close());
    let mediaRelay: MediaRelay | undefined;
    if (config.media !== undefined) {
      const relay = await createMediaRelay(config.media, logger.child({ component: 'media' }));
      mediaRelay = relay;
      cleanups.push(() => relay.close());
    }
    const proxy = new StatelessProxy({
      dispatcher,
      resolver,
      ...(mediaRelay === undefined ? {} : { mediaRelay }),
      domains: config.domains,
      ...(registrar === undefined ? {} : { location: registrar as LocationService }),
      ...(config.contactKey === undefined ? {} : { contactKey: config.contactKey }),
      ...(config.routeSecret === undefined ? {} : { recordRouteKey: config.routeSecret }),
      relayAllow: config.relayAllow,
      allowDestinations: config.allowDestinations,
      allowPrivate: config.allowPrivate,
      ...(config.contactLifetime === undefined ? {} : { contactTokenLifetime: config.contactLifetime }),
      logger: logger.child({ component: 'proxy' }),
    });
    cleanups.push(() => proxy.close());

    // One stable line per refused source or credential, for fail2ban (format in @sipway/auth's README).
    const securityLogger = logger.child({ component: 'security' });
    const securityLog: SecurityLog = (line, event) => securityLogger.warn({ event: event.kind, source: event.source }, line);
    const members: ChainMember[] = [];
    if (config.rateLimit !== undefined) {
      const limiter = new RateLimiter({
        dispatcher,
        points: config.rateLimit.points,
        duration: config.rateLimit.duration,
        allow: config.rateLimit.allow,
        securityLog,
        logger: logger.child({ component: 'rate-limiter' }),
      });
      members.push({ name: 'rate-limiter', handler: limiter });
    }
    if (config.auth !== undefined) {
      // With the Redis store the nonce counts live there too: a replay to another proxy is refused.
      let nonceCounts: NonceCountStore | undefined;
      if (config.store.kind === 'redis' && raw !== undefined) {
        const { RedisLocationStore } = await import('@sipway/registrar/redis');
        if (raw instanceof RedisLocationStore) nonceCounts = new RedisNonceCountStore(raw);
      }
      // role proxy: REGISTER is challenged with 401/WWW-Authenticate, every proxied request with
      // 407/Proxy-Authenticate (RFC 3261 §22.1, §22.3); ACK and CANCEL never are.
      const auth = new DigestAuthenticator({
        dispatcher,
        realm: config.auth.realm,
        role: 'proxy',
        users: config.auth.users,
        algorithms: config.auth.algorithms,
        ...(config.auth.nonceSecret === undefined ? {} : { nonceSecret: config.auth.nonceSecret }),
        ...(nonceCounts === undefined ? {} : { nonceCounts }),
        lockout: config.auth.lockout,
        // A nonce answered from another address than it was issued to is not ours: a forged UDP
        // source cannot spend (and lock out) a victim's failure budget; a client that moved gets
        // a stale challenge and answers again.
        bindNonceToAddress: true,
        securityLog,
        logger: logger.child({ component: 'auth' }),
      });
      members.push({ name: 'digest', handler: auth });
    }
    if (registrar !== undefined) {
      // Net::SIP's myRegistrar: only REGISTERs that arrive on a leg with a registrar.
      members.push({ name: 'registrar', handler: registrar, filter: (_m, info) => registrarLegs.has(info.leg) });
    }
    members.push({ name: 'proxy', handler: proxy });
    dispatcher.setReceiver(new ReceiveChain(members, { logger: logger.child({ component: 'chain' }) }));
    await dispatcher.start();

    let admin: Admin | undefined;
    if (config.admin !== undefined) {
      // The health probe asks the store itself, so its lookups stay out of the latency histogram.
      admin = await startAdmin({
        listen: config.admin,
        metrics,
        legs: () => dispatcher.legs,
        ...(registrar === undefined || raw === undefined ? {} : { registrar, store: raw }),
      });
    }

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      // The legs first, so no REGISTER is half-answered; then the store, so the file store's
      // final snapshot holds every answered REGISTER.
      closing ??= (async () => {
        await dispatcher.close();
        proxy.close();
        await mediaRelay?.close();
        await registrar?.close();
        await raw?.close();
        await admin?.close();
        resolver.close();
        metrics?.dispose();
      })();
      return closing;
    };
    return { legs, dispatcher, registrar, proxy, store: raw, admin, close };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** `udp:127.0.0.1:5060` of a started leg (the real port when 0 was asked). */
export function describeLeg(leg: Leg): string {
  return formatLeg({ transport: leg.transport, address: leg.address, port: leg.port });
}
