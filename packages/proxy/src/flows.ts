/**
 * Reaching clients over the connection they registered or called on (RFC 5626 outbound,
 * RFC 7118 §5 WebSocket, RFC 5923-style reuse for NATed TCP/TLS clients), statelessly: the
 * flow is named by the binding's source or by a flow token in our own Record-Route.
 */
import { isIP } from 'node:net';
import { isConnectionTransport, reachableOnlyByFlow } from '@sipway/sip-leg';
import type { Destination, Leg, LegConnection, ReceiveInfo, Transport } from '@sipway/sip-leg';
import type { SipRequest } from '@sipway/sip-message';
import type { Flow } from './flow-token.js';
import { type Binding, bindingUri } from './location.js';
import { canonicalHost } from '@sipway/sip-message';
import { sipUri } from './own-legs.js';

/** An open flow to send a request down. */
export interface FlowTarget {
  leg: Leg;
  connection: LegConnection;
  destination: Destination;
  flow: Flow;
}

/** What a binding's source says about reaching it. */
export type BindingFlow =
  | { kind: 'flow'; target: FlowTarget }
  /** A `.invalid` contact registered over UDP: sent to the address the REGISTER came from. */
  | { kind: 'source'; destination: Destination }
  | { kind: 'dead' }
  | { kind: 'none' };

/** The open connection to `address:port` on a leg of this transport (or on `leg` only). */
export function openFlow(legs: readonly Leg[], transport: string, flow: Flow, leg?: Leg): FlowTarget | undefined {
  const address = canonicalHost(flow.address);
  for (const l of leg === undefined ? legs : [leg]) {
    if (l.transport !== transport || l.connectionTo === undefined || l.state !== 'listening') continue;
    const connection = l.connectionTo(address, flow.port);
    if (connection === undefined || connection.closed) continue;
    const destination: Destination = { transport: l.transport, address, port: flow.port, family: isIP(address) === 6 ? 6 : 4 };
    return { leg: l, connection, destination, flow: { address, port: flow.port, required: flow.required } };
  }
  return undefined;
}

/** True when the contact names an IP address other than the one the client was seen at (NAT). */
function behindNat(contact: string, address: string): boolean {
  const uri = sipUri(contact);
  if (uri === undefined || uri.hostType === 'hostname') return false;
  return canonicalHost(uri.host) !== canonicalHost(address);
}

/**
 * How to reach one binding: down its registration connection (`flow`) when the contact is
 * reachable only that way (WebSocket, `.invalid`, `ob`/`reg-id`) or when its contact address
 * differs from where the REGISTER came from (NAT) and that connection is still open; `dead`
 * when it needs its flow and the flow closed (RFC 5626 §5.2: skip it); else `none` (dial the
 * contact as RFC 3263 says). A binding with a Path is reached through the Path's first hop.
 */
export function bindingFlow(binding: Binding, legs: readonly Leg[]): BindingFlow {
  const source = binding.source;
  if (source === undefined || (binding.path?.length ?? 0) > 0) return { kind: 'none' };
  const transport = source.transport.toLowerCase();
  const contact = bindingUri(binding.contact);
  if (!isConnectionTransport(transport)) {
    const host = sipUri(contact)?.host.toLowerCase();
    const family = isIP(source.address);
    if (transport !== 'udp' || family === 0 || host === undefined || !(host.endsWith('.invalid') || host.endsWith('.invalid.'))) return { kind: 'none' };
    return { kind: 'source', destination: { transport: 'udp', address: canonicalHost(source.address), port: source.port, family: family === 6 ? 6 : 4 } };
  }
  const required = reachableOnlyByFlow(contact, transport, binding.params);
  if (!required && !behindNat(contact, source.address)) return { kind: 'none' };
  const target = openFlow(legs, transport, { address: source.address, port: source.port, required });
  if (target !== undefined) return { kind: 'flow', target };
  return required ? { kind: 'dead' } : { kind: 'none' };
}

/**
 * The flow a dialog-creating request arrived on, when the caller can be reached only over it
 * (WebSocket, `.invalid` or `ob` Contact; required) or sits behind NAT (reused while open):
 * its token goes into the Record-Route of the incoming leg (RFC 5626 §5.3).
 */
export function incomingFlow(request: SipRequest, info: ReceiveInfo): Flow | undefined {
  const connection = info.connection;
  if (connection === undefined || connection.closed || !isConnectionTransport(info.leg.transport)) return undefined;
  const flow = (required: boolean): Flow => ({ address: canonicalHost(info.source.address), port: info.source.port, required });
  if (info.leg.transport === 'ws' || info.leg.transport === 'wss') return flow(true);
  if (!request.hasHeader('contact')) return undefined;
  let contact;
  try {
    contact = request.contacts[0];
  } catch {
    return undefined;
  }
  if (contact === undefined || contact.star) return undefined;
  const params = contact.params as Record<string, string | null | undefined>;
  if (reachableOnlyByFlow(contact.uri, info.leg.transport as Transport, params)) return flow(true);
  return behindNat(contact.uri, info.source.address) ? flow(false) : undefined;
}

/** True when `flow` is the connection the request arrived on (a token of the sender's own flow is not a target). */
export function arrivedOn(flow: Flow, leg: Leg, info: ReceiveInfo): boolean {
  return info.connection !== undefined && info.leg === leg && canonicalHost(info.source.address) === flow.address && info.source.port === flow.port;
}
