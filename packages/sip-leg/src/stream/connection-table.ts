import type { SipMessage, SipRequest } from '@sipway/sip-message';
import { canonicalAddress } from '../address.js';
import type { LegConnection } from '../leg.js';

/** How many request → connection associations a leg remembers (oldest forgotten first). */
const MAX_REQUEST_KEYS = 8192;

/**
 * Bookkeeping shared by the stream legs: open connections by peer (reuse in both directions)
 * and which connection each recent request came on (responses go back on it).
 *
 * @see RFC 3261 §18.2.2 (response on the connection of its request), §17.2.3 (branch + sent-by key)
 * @see RFC 5923 §1 (reusing a connection the peer opened)
 */
export class ConnectionTable<C extends LegConnection> {
  private readonly all = new Set<C>();
  private readonly byPeer = new Map<string, C[]>();
  private readonly byRequest = new Map<string, C>();

  get size(): number {
    return this.all.size;
  }

  connections(): C[] {
    return [...this.all];
  }

  add(connection: C): void {
    this.all.add(connection);
    const key = peerKey(connection.remote.address, connection.remote.port);
    const list = this.byPeer.get(key);
    if (list === undefined) this.byPeer.set(key, [connection]);
    else list.push(connection);
  }

  remove(connection: C): void {
    if (!this.all.delete(connection)) return;
    const key = peerKey(connection.remote.address, connection.remote.port);
    const list = this.byPeer.get(key)?.filter((c) => c !== connection);
    if (list === undefined || list.length === 0) this.byPeer.delete(key);
    else this.byPeer.set(key, list);
  }

  /** An open connection to (or from) this peer, newest first. */
  toPeer(address: string, port: number): C | undefined {
    const list = this.byPeer.get(peerKey(address, port));
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i];
      if (c !== undefined && !c.closed) return c;
    }
    return undefined;
  }

  rememberRequest(request: SipRequest, connection: C): void {
    const key = requestKey(request);
    if (key === undefined) return;
    this.byRequest.delete(key);
    this.byRequest.set(key, connection);
    if (this.byRequest.size > MAX_REQUEST_KEYS) {
      const oldest = this.byRequest.keys().next();
      if (oldest.done !== true) this.byRequest.delete(oldest.value);
    }
  }

  forResponse(response: SipMessage): C | undefined {
    const key = requestKey(response);
    if (key === undefined) return undefined;
    const c = this.byRequest.get(key);
    return c !== undefined && !c.closed ? c : undefined;
  }
}

function peerKey(address: string, port: number): string {
  return `${canonicalAddress(address)}|${port}`;
}

/** Branch + sent-by of the top Via: the RFC 3261 §17.2.3 server transaction key, minus method. */
function requestKey(message: SipMessage): string | undefined {
  let via;
  try {
    via = message.topVia; // parsed once and cached by the message (sip-message's Via parser)
  } catch {
    return undefined;
  }
  if (via === undefined) return undefined;
  const branch = via.branch;
  return `${branch ?? ''}|${via.host.toLowerCase()}|${via.port ?? ''}|${message.callId ?? ''}`;
}
