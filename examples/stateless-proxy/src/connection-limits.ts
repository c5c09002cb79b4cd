/**
 * Connection limits of the stream legs (tcp, tls, ws, wss): flags, file keys, validation and the
 * start-up check against the process's file-descriptor limit. Kept apart from config.ts so the
 * settings and their checks read in one place.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@sipway/example-kit';

/** The validated settings, applied to every stream leg. */
export interface ConnectionLimitsConfig {
  /** Sockets per leg, inbound (from the TCP accept) plus outbound. */
  maxConnections: number;
  /** Inbound sockets per source address (IPv6: per prefix); 0 = no limit. */
  maxConnectionsPerSource: number;
  /** IPv6 prefix length that counts as one source. */
  sourcePrefixV6: number;
  /** A SIP message must be complete this long after its first byte (tcp, tls); 0 = no deadline. */
  messageTimeoutMs: number;
  /** TLS handshake / WebSocket upgrade must finish this long after the accept; 0 = no deadline. */
  handshakeTimeoutMs: number;
}

export const CONNECTION_DEFAULTS: Readonly<ConnectionLimitsConfig> = {
  maxConnections: 1024,
  maxConnectionsPerSource: 32,
  sourcePrefixV6: 64,
  messageTimeoutMs: 20_000,
  handshakeTimeoutMs: 10_000,
};

/** Flag / file key → setting. */
export const CONNECTION_KEYS = {
  'max-connections': 'maxConnections',
  'max-connections-per-source': 'maxConnectionsPerSource',
  'source-prefix-v6': 'sourcePrefixV6',
  'message-timeout-ms': 'messageTimeoutMs',
  'handshake-timeout-ms': 'handshakeTimeoutMs',
} as const satisfies Record<string, keyof ConnectionLimitsConfig>;

/** The settings as given (text from flags, text or numbers from the file). */
export type ConnectionLimitsInput = { [K in keyof ConnectionLimitsConfig]?: string | undefined };

const RANGES: Record<keyof ConnectionLimitsConfig, [number, number]> = {
  maxConnections: [1, 1_000_000],
  maxConnectionsPerSource: [0, 1_000_000],
  sourcePrefixV6: [1, 128],
  messageTimeoutMs: [0, 2 ** 31 - 1],
  handshakeTimeoutMs: [0, 2 ** 31 - 1],
};

/** Validates and fills in defaults; a value out of range is a start-up error naming the key. */
export function connectionLimits(input: ConnectionLimitsInput): ConnectionLimitsConfig {
  const out = { ...CONNECTION_DEFAULTS };
  for (const [key, name] of Object.entries(CONNECTION_KEYS)) {
    const text = input[name];
    if (text === undefined) continue;
    const [min, max] = RANGES[name];
    const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError('CONFIG_INVALID', `configuration: ${key} must be a whole number from ${min} to ${max}, got "${text}"`);
    }
    out[name] = n;
  }
  return out;
}

/** Options for a TcpLeg / TlsLeg / WsLeg. */
export function streamLegOptions(c: ConnectionLimitsConfig, transport: string): Record<string, number> {
  const common = {
    maxConnections: c.maxConnections,
    maxConnectionsPerSource: c.maxConnectionsPerSource,
    sourcePrefixV6: c.sourcePrefixV6,
    handshakeTimeoutMs: c.handshakeTimeoutMs,
  };
  // One WebSocket message is one SIP message: there is no partial message to time.
  return transport === 'ws' || transport === 'wss' ? common : { ...common, messageTimeoutMs: c.messageTimeoutMs };
}

/**
 * The soft RLIMIT_NOFILE of this process (Linux: /proc/self/limits), or undefined elsewhere.
 */
export function fileDescriptorLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** A warning when the stream legs may hold more sockets than the process may open, else undefined. */
export function fdLimitWarning(c: ConnectionLimitsConfig, streamLegs: number, limit = fileDescriptorLimit()): string | undefined {
  if (limit === undefined || streamLegs === 0) return undefined;
  // Some descriptors are the process's own: stdio, listeners, UDP sockets, DNS, store, admin.
  const reserve = 32;
  const wanted = c.maxConnections * streamLegs;
  if (wanted + reserve <= limit) return undefined;
  return `file descriptor limit ${limit} (ulimit -n) is below what the stream legs may use (${streamLegs} × max-connections ${c.maxConnections} + ${reserve}): connections beyond it fail with EMFILE; raise ulimit -n or lower --max-connections`;
}
