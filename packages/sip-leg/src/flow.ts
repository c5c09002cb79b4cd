/**
 * Which registered contacts can be reached only over the connection they registered on (a
 * "flow", RFC 5626 §3.2): shared by the registrar (dropping bindings whose flow closed, pinning
 * the connection) and the proxy (sending down the flow, skipping dead ones).
 */
import { isSipUri, parseUri } from '@sipway/sip-message';

/** Connection-oriented transports: the ones a flow can exist on. */
export function isConnectionTransport(transport: string | undefined): boolean {
  return transport === 'tcp' || transport === 'tls' || transport === 'ws' || transport === 'wss';
}

/**
 * True when a contact registered over `sourceTransport` is reachable only over its registration
 * connection: every WebSocket client (a browser accepts no connection, RFC 7118 §5), a `.invalid`
 * host (RFC 7118 §5, RFC 6761 §6.4), and an RFC 5626 outbound registration (`ob` URI parameter,
 * or `reg-id` with `+sip.instance` among the Contact parameters, §4.2, §6). False for UDP.
 *
 * @param contact the contact URI (without `<…>`)
 * @param params the Contact header parameters (`reg-id`, `+sip.instance`) when known
 */
export function reachableOnlyByFlow(
  contact: string,
  sourceTransport: string | undefined,
  params?: Readonly<Record<string, string | null | undefined>>,
): boolean {
  const transport = sourceTransport?.toLowerCase();
  if (!isConnectionTransport(transport)) return false;
  if (transport === 'ws' || transport === 'wss') return true;
  if (params !== undefined && params['reg-id'] !== undefined && params['+sip.instance'] !== undefined) return true;
  let uri;
  try {
    uri = parseUri(contact);
  } catch {
    return false;
  }
  if (!isSipUri(uri)) return false;
  const host = uri.host.toLowerCase().replace(/\.$/, '');
  return host === 'invalid' || host.endsWith('.invalid') || uri.params.ob !== undefined;
}
