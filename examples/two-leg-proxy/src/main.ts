#!/usr/bin/env node
/**
 * A two-sided proxy: phones and PBXs on an inside UDP network, clients on the outside over TCP
 * and WebSocket. Every message that crosses sides gets its Contact rewritten to a token at the
 * proxy (RFC 3261 §16.6 leaves Contact alone; a bridge between networks cannot), and restored
 * when a request for that token comes back. One registrar serves both sides.
 *
 *   node dist/main.js --inside udp:10.0.0.1:5060 --outside tcp:203.0.113.5:5060 \
 *     --outside ws:203.0.113.5:8080 --domain example.com --contact-key base64:…
 *
 * Prints one `listening` line per leg; exits 0 on SIGTERM/SIGINT after closing the legs.
 */
import { parseArgs } from 'node:util';
import { StatelessProxy } from '@sipway/proxy';
import { ReceiveChain } from '@sipway/receive-chain';
import { Registrar } from '@sipway/registrar';
import { Dispatcher, SipResolver } from '@sipway/sip-leg';
import type { Leg } from '@sipway/sip-leg';
import { ConfigError, createLeg, parseLegSpec } from '@sipway/example-kit';

const USAGE = `usage: two-leg-proxy --inside udp:IP:PORT --outside tcp:IP:PORT [--outside ws:IP:PORT]
                     [--domain D]... [--contact-key KEY] [--contact-lifetime SECONDS]
`;

/** `proto:ip:port` with IPv6 in brackets (example-kit's `--leg` syntax); inside is UDP, outside TCP or plain WebSocket. */
function makeLeg(text: string, side: 'inside' | 'outside'): Promise<Leg> {
  const spec = parseLegSpec(text);
  if (side === 'inside' && spec.transport !== 'udp') throw new ConfigError('USAGE', '--inside must be a udp leg');
  if (side === 'outside' && spec.transport !== 'tcp' && spec.transport !== 'ws') throw new ConfigError('USAGE', '--outside must be tcp or ws');
  return createLeg(spec, {});
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        inside: { type: 'string' },
        outside: { type: 'string', multiple: true },
        domain: { type: 'string', multiple: true },
        'contact-key': { type: 'string' },
        'contact-lifetime': { type: 'string' },
      },
    }));
    if (values.inside === undefined || values.outside === undefined) throw new Error('--inside and --outside are required');
    const lifetime = values['contact-lifetime'];
    const seconds = lifetime !== undefined && /^\d{1,10}$/.test(lifetime) ? Number(lifetime) : Number.NaN;
    if (lifetime !== undefined && !(seconds === 0 || (seconds >= 60 && seconds <= 0xffffffff))) {
      throw new Error('--contact-lifetime is whole seconds: 0 (no limit) or 60 to 4294967295');
    }
  } catch (error) {
    process.stderr.write(`two-leg-proxy: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  let legs: Leg[];
  try {
    legs = [await makeLeg(values.inside, 'inside')];
    for (const o of values.outside) legs.push(await makeLeg(o, 'outside'));
  } catch (error) {
    process.stderr.write(`two-leg-proxy: ${(error as Error).message}\n`);
    return 2;
  }
  const domains = values.domain ?? ['*'];
  const resolver = new SipResolver({ transports: ['udp', 'tcp', 'ws'] });
  const dispatcher = new Dispatcher({ legs, resolver });
  const registrar = new Registrar({ dispatcher, domains });
  const proxy = new StatelessProxy({
    dispatcher,
    resolver,
    domains,
    location: registrar,
    // Tokens must survive a restart: give the key (or SIPWAY_CONTACT_KEY).
    ...(values['contact-key'] === undefined ? {} : { contactKey: values['contact-key'] }),
    // A captured token stops working this many seconds after it was made (default 7 days).
    ...(values['contact-lifetime'] === undefined ? {} : { contactTokenLifetime: Number(values['contact-lifetime']) }),
  });
  dispatcher.setReceiver(new ReceiveChain([registrar, proxy]));
  // Taken before the legs start, so a signal during start-up still ends in an orderly close.
  const stopped = new Promise<void>((resolve) => {
    process.on('SIGTERM', () => resolve());
    process.on('SIGINT', () => resolve());
  });
  try {
    await dispatcher.start();
  } catch (error) {
    process.stderr.write(`two-leg-proxy: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  for (const [i, leg] of legs.entries()) {
    const host = leg.address.includes(':') ? `[${leg.address}]` : leg.address;
    process.stdout.write(`${i === 0 ? 'inside' : 'outside'} listening on ${leg.transport}:${host}:${leg.port}\n`);
  }
  await stopped;
  await dispatcher.close();
  proxy.close();
  await registrar.close();
  resolver.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`two-leg-proxy: ${String(error)}\n`);
    process.exit(1);
  },
);
