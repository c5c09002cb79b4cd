import { isIP } from 'node:net';
import { ConfigError } from './errors.js';

/** Transports a leg can have. */
export const TRANSPORTS = ['udp', 'tcp', 'tls', 'ws', 'wss'] as const;
export type LegTransport = (typeof TRANSPORTS)[number];

/** `proto:host:port` parsed. `address` is an IP literal without brackets. */
export interface LegSpec {
  transport: LegTransport;
  address: string;
  port: number;
}

/** RFC 3261 §19.1.2 default ports: 5061 for the TLS transports, else 5060. */
export function defaultPort(transport: LegTransport): number {
  return transport === 'tls' || transport === 'wss' ? 5061 : 5060;
}

/**
 * Parses `udp:127.0.0.1:5060`, `tcp:[::1]:5070`, `tls:10.0.0.1` (default port). The host must be an
 * IP literal: a leg binds a socket, and names go in the leg's `host` setting.
 */
export function parseLegSpec(text: string): LegSpec {
  const m = /^([a-z]+):(\[[^\]]*\]|[^:[\]]+)(?::(\d+))?$/i.exec(text.trim());
  if (m === null) throw new ConfigError('LEG_SPEC', `leg "${text}": expected proto:host:port (IPv6 as proto:[::1]:port)`);
  const transport = m[1]!.toLowerCase();
  if (!(TRANSPORTS as readonly string[]).includes(transport)) {
    throw new ConfigError('LEG_SPEC', `leg "${text}": unknown transport ${m[1]} (one of ${TRANSPORTS.join(', ')})`);
  }
  const bracketed = m[2]!.startsWith('[');
  const address = bracketed ? m[2]!.slice(1, -1) : m[2]!;
  const family = isIP(address);
  if (family === 0 || (bracketed && family !== 6) || (!bracketed && family === 6)) {
    throw new ConfigError('LEG_SPEC', `leg "${text}": host must be an IP address (IPv6 in brackets)`);
  }
  const port = m[3] === undefined ? defaultPort(transport as LegTransport) : Number(m[3]);
  if (!Number.isInteger(port) || port > 65535) throw new ConfigError('LEG_SPEC', `leg "${text}": port must be 0..65535`);
  return { transport: transport as LegTransport, address, port };
}

/** `udp:127.0.0.1:5060`, `tcp:[::1]:5060`. */
export function formatLeg(spec: { transport: string; address: string; port: number }): string {
  const host = spec.address.includes(':') ? `[${spec.address}]` : spec.address;
  return `${spec.transport}:${host}:${spec.port}`;
}
