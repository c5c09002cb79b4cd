/**
 * legs → Dispatcher (with a SipResolver) → ReceiveChain([Registrar?, StatelessProxy]), the
 * registrar being the proxy's location service — Net::SIP's stateless_proxy.pl.
 */
import { StatelessProxy } from '@sipway/proxy';
import type { LocationService } from '@sipway/proxy';
import { ReceiveChain } from '@sipway/receive-chain';
import type { ChainMember } from '@sipway/receive-chain';
import { Registrar } from '@sipway/registrar';
import { Dispatcher, SipResolver } from '@sipway/sip-leg';
import type { Leg } from '@sipway/sip-leg';
import type { Logger } from 'pino';
import type { ProxyConfig } from './config.js';
import { formatLeg } from './leg-spec.js';
import { createLeg } from './legs.js';

/** A running proxy. */
export interface RunningProxy {
  readonly legs: readonly Leg[];
  readonly dispatcher: Dispatcher;
  readonly registrar: Registrar | undefined;
  readonly proxy: StatelessProxy;
  /** Close the legs gracefully, then the registrar and resolver. Idempotent. */
  close(): Promise<void>;
}

/** pino's `(obj, msg)` order behind the packages' `(msg, data)` logger shape. */
function adapt(logger: Logger) {
  return {
    debug: (msg: string, data?: Record<string, unknown>) => logger.debug(data ?? {}, msg),
    info: (msg: string, data?: Record<string, unknown>) => logger.info(data ?? {}, msg),
    warn: (msg: string, data?: Record<string, unknown>) => logger.warn(data ?? {}, msg),
    error: (msg: string, data?: Record<string, unknown>) => logger.error(data ?? {}, msg),
  };
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
  const legLogger = adapt(logger.child({ component: 'leg' }));
  const legs: Leg[] = [];
  for (const lc of config.legs) legs.push(await createLeg(lc, legLogger));
  const hops = nextHops(config);
  const resolver = new SipResolver({
    transports: [...new Set(config.legs.map((l) => l.transport))],
    ...(Object.keys(hops.domain2proxy).length > 0 ? { domain2proxy: hops.domain2proxy } : {}),
    ...(hops.outboundProxy === undefined ? {} : { outboundProxy: hops.outboundProxy }),
  });
  const dispatcher = new Dispatcher({ legs, resolver, logger: legLogger });

  const registrarLegs = new Set(legs.filter((_, i) => config.legs[i]!.registrar));
  const registrarDomains = [...new Set(config.legs.filter((l) => l.registrar).flatMap((l) => l.domains))];
  const registrar =
    registrarLegs.size > 0
      ? new Registrar({ dispatcher, domains: registrarDomains, logger: adapt(logger.child({ component: 'registrar' })) })
      : undefined;
  const proxy = new StatelessProxy({
    dispatcher,
    resolver,
    domains: config.domains,
    ...(registrar === undefined ? {} : { location: registrar as LocationService }),
    ...(config.contactKey === undefined ? {} : { contactKey: config.contactKey }),
    logger: adapt(logger.child({ component: 'proxy' })),
  });
  const members: ChainMember[] = [];
  if (registrar !== undefined) {
    // Net::SIP's myRegistrar: only REGISTERs that arrive on a leg with a registrar.
    members.push({ name: 'registrar', handler: registrar, filter: (_m, info) => registrarLegs.has(info.leg) });
  }
  members.push({ name: 'proxy', handler: proxy });
  dispatcher.setReceiver(new ReceiveChain(members, { logger: adapt(logger.child({ component: 'chain' })) }));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await dispatcher.close();
      proxy.close();
      await registrar?.close();
      resolver.close();
    })();
    return closing;
  };
  try {
    await dispatcher.start();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { legs, dispatcher, registrar, proxy, close };
}

/** `udp:127.0.0.1:5060` of a started leg (the real port when 0 was asked). */
export function describeLeg(leg: Leg): string {
  return formatLeg({ transport: leg.transport, address: leg.address, port: leg.port });
}
