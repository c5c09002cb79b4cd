/**
 * Where a leg sends and where a message came from.
 *
 * These two types are shared by every transport, the dispatcher and the RFC 3263 resolver
 * (`src/resolve/`), so they live in their own module with no runtime code.
 */

/**
 * A SIP transport as named in a Via header (lower case).
 * @see RFC 3261 §18, RFC 7118 §5 (ws/wss)
 */
export type Transport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** IP address family: 4 or 6. */
export type AddressFamily = 4 | 6;

/**
 * One concrete next hop: transport, IP address and port (what RFC 3263 §4 resolution produces).
 * `hostname` keeps the name the address was resolved from (TLS SNI / certificate check).
 * @see RFC 3263 §4
 */
export interface Destination {
  transport: Transport;
  /** IP literal; IPv6 without brackets. */
  address: string;
  port: number;
  family: AddressFamily;
  hostname?: string;
}

/** All transports, in the order a resolver tries them when nothing else says otherwise. */
export const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** True for the connection-oriented transports (RFC 3261 §18: reliable transports). */
export function isStreamTransport(transport: Transport): boolean {
  return transport !== 'udp';
}

/** True for transports secured by TLS (sips: URIs, RFC 3261 §26.2). */
export function isSecureTransport(transport: Transport): boolean {
  return transport === 'tls' || transport === 'wss';
}

/**
 * Default SIP port of a transport: 5061 for the TLS-secured ones, else 5060 (RFC 3261 §19.1.2,
 * RFC 3263 §4.2) — @sipway/sip-message's `defaultPort`, which also takes a scheme.
 */
export { defaultPort } from '@sipway/sip-message';
