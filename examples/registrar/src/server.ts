/**
 * legs → Dispatcher → ReceiveChain([RateLimiter?, DigestAuthenticator?, Registrar, fallback]),
 * the Registrar on the store of `--store`, and the admin listener of `--admin`.
 */
import { createMetrics, instrumentStore, startAdmin } from '@sipway/admin';
import type { Admin, SipwayMetrics } from '@sipway/admin';
import { DigestAuthenticator, RateLimiter } from '@sipway/auth';
import type { SecurityLog } from '@sipway/auth';
import { ReceiveChain } from '@sipway/receive-chain';
import type { ChainMember } from '@sipway/receive-chain';
import { Registrar } from '@sipway/registrar';
import type { LocationStore } from '@sipway/registrar';
import { Dispatcher, SipResolver } from '@sipway/sip-leg';
import type { Leg } from '@sipway/sip-leg';
import type { Logger } from 'pino';
import type { RegistrarConfig } from './args.js';
import { registrarFallback } from './fallback.js';
import { createLeg, formatLeg, openStore } from '@sipway/example-kit';

/** A running registrar. */
export interface RunningRegistrar {
  readonly legs: readonly Leg[];
  readonly dispatcher: Dispatcher;
  readonly registrar: Registrar;
  readonly store: LocationStore;
  readonly admin: Admin | undefined;
  /** Closes the legs, then the registrar, the store (the file store writes its last snapshot) and the admin listener. Idempotent. */
  close(): Promise<void>;
}

/** `udp:127.0.0.1:5060` of a started leg (the real port when 0 was asked). */
export function describeLeg(leg: Leg): string {
  return formatLeg({ transport: leg.transport, address: leg.address, port: leg.port });
}

/** Builds, wires and starts everything. On failure whatever started is closed again. */
export async function startRegistrar(config: RegistrarConfig, logger: Logger): Promise<RunningRegistrar> {
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
    const raw = await openStore(config.store, logger.child({ component: 'store' }));
    cleanups.push(() => raw.close());
    const store = metrics === undefined ? raw : instrumentStore(raw, metrics);

    const legLogger = logger.child({ component: 'leg' });
    const legs: Leg[] = [];
    for (const spec of config.legs) legs.push(await createLeg({ ...spec, tlsCert: config.tlsCert, tlsKey: config.tlsKey }, legLogger));
    const resolver = new SipResolver({ transports: [...new Set(config.legs.map((l) => l.transport))] });
    cleanups.push(() => resolver.close());
    const dispatcher = new Dispatcher({ legs, resolver, logger: legLogger });
    cleanups.push(() => dispatcher.close());

    const registrar = new Registrar({
      dispatcher,
      domains: config.domains,
      store,
      ...(config.minExpires === undefined ? {} : { minExpires: config.minExpires }),
      ...(config.maxExpires === undefined ? {} : { maxExpires: config.maxExpires }),
      maxBindings: config.maxBindings,
      maxAorsPerSource: config.maxAorsPerSource,
      maxAors: config.maxAors,
      trustedSources: config.registrarTrusted,
      logger: logger.child({ component: 'registrar' }),
    });
    cleanups.push(() => registrar.close());

    // One stable line per refused source or credential, for fail2ban (format in @sipway/auth's README).
    const securityLogger = logger.child({ component: 'security' });
    const securityLog: SecurityLog = (line, event) => securityLogger.warn({ event: event.kind, source: event.source }, line);
    const members: ChainMember[] = [];
    if (config.rateLimit !== undefined) {
      const limiter = new RateLimiter({
        dispatcher,
        points: config.rateLimit.points,
        duration: config.rateLimit.duration,
        allow: config.rateLimitAllow,
        securityLog,
        logger: logger.child({ component: 'rate-limiter' }),
      });
      members.push({ name: 'rate-limiter', handler: limiter });
    }
    if (config.users.size > 0) {
      const auth = new DigestAuthenticator({
        dispatcher,
        realm: config.realm!,
        role: 'registrar',
        users: config.users,
        algorithms: config.algorithms,
        // Only REGISTER needs credentials here: everything else gets 200 (OPTIONS) or 405.
        methods: ['REGISTER'],
        ...(config.nonceSecret === undefined ? {} : { nonceSecret: config.nonceSecret }),
        lockout: config.lockout,
        // A nonce answered from another address than it was issued to is not ours: a forged UDP
        // source cannot spend (and lock out) a victim's failure budget; a client that moved gets
        // a stale challenge and answers again.
        bindNonceToAddress: true,
        securityLog,
        logger: logger.child({ component: 'auth' }),
      });
      members.push({ name: 'digest', handler: auth });
    }
    members.push({ name: 'registrar', handler: registrar });
    members.push({ name: 'fallback', handler: registrarFallback(dispatcher) });
    dispatcher.setReceiver(new ReceiveChain(members, { logger: logger.child({ component: 'chain' }) }));
    await dispatcher.start();

    let admin: Admin | undefined;
    if (config.admin !== undefined) {
      // The health probe asks the store itself, so its lookups stay out of the latency histogram.
      admin = await startAdmin({ listen: config.admin, metrics, legs: () => dispatcher.legs, registrar, store: raw });
      const a = admin;
      cleanups.push(() => a.close());
    }

    let closing: Promise<void> | undefined;
    return {
      legs,
      dispatcher,
      registrar,
      store: raw,
      admin,
      close() {
        // The legs first, so no REGISTER is half-answered; the store last but one, so the file
        // store's final snapshot holds every answered REGISTER.
        closing ??= (async () => {
          await dispatcher.close();
          await registrar.close();
          await raw.close();
          await admin?.close();
          resolver.close();
          metrics?.dispose();
        })();
        return closing;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}
