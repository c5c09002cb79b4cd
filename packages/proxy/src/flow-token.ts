/**
 * Flow tokens (RFC 5626 §5.2, §5.3): the user part of a Record-Route URI this proxy inserts,
 * naming the connection ("flow") a client is reached over, so an in-dialog request that comes
 * back through our Route goes down that connection without any state here. The token is
 * integrity-protected by an HMAC over the flow and the leg the Record-Route names: a forged or
 * altered token reaches no connection.
 *
 * Layout (base64url): flags (1 byte: bit 0 = required) · port (2 bytes) · peer address as text ·
 * HMAC-SHA-256 truncated to 12 bytes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Leg } from '@sipway/sip-leg';

/** One flow: the peer of a connection on a leg. */
export interface Flow {
  address: string;
  port: number;
  /**
   * The client is reachable only over this flow (WebSocket, `.invalid`, RFC 5626 outbound):
   * when the flow is gone the request fails with 430. False: a NATed TCP client whose open
   * registration connection was reused; when it is gone the Request-URI is used as usual.
   */
  required: boolean;
}

const MAC_BYTES = 12;
const MIN_BYTES = 1 + 2 + 3 + MAC_BYTES; // "::1" is the shortest address text
const MAX_BYTES = 1 + 2 + 45 + MAC_BYTES;
const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;

/** The outcome of reading a user part that may be a flow token. */
export type FlowTokenRead = { kind: 'flow'; flow: Flow } | { kind: 'forged' } | { kind: 'none' };

/** Makes and checks flow tokens with one key (random per process: flows do not outlive it). */
export class FlowTokens {
  readonly #key: Buffer;

  constructor(key?: Uint8Array) {
    this.#key = key === undefined ? randomBytes(32) : Buffer.from(key);
  }

  /** The token naming `flow` on `leg`. */
  encode(leg: Leg, flow: Flow): string {
    const address = Buffer.from(flow.address, 'latin1');
    const body = Buffer.alloc(3 + address.length);
    body[0] = flow.required ? 1 : 0;
    body.writeUInt16BE(flow.port, 1);
    address.copy(body, 3);
    return Buffer.concat([body, this.#mac(leg, body)]).toString('base64url');
  }

  /**
   * Reads a Route user part of ours: `none` when it does not look like a token at all, `forged`
   * when it does but its HMAC does not hold for this leg (RFC 5626 §5.3: answer 403).
   */
  decode(user: string, leg: Leg): FlowTokenRead {
    const chars = user.length;
    if (chars < Math.ceil((MIN_BYTES * 4) / 3) || chars > Math.ceil((MAX_BYTES * 4) / 3) || !TOKEN_CHARS.test(user)) {
      return { kind: 'none' };
    }
    const bytes = Buffer.from(user, 'base64url');
    if (bytes.length < MIN_BYTES || bytes.length > MAX_BYTES) return { kind: 'none' };
    const body = bytes.subarray(0, bytes.length - MAC_BYTES);
    const mac = bytes.subarray(bytes.length - MAC_BYTES);
    if (!timingSafeEqual(mac, this.#mac(leg, body))) return { kind: 'forged' };
    const address = body.subarray(3).toString('latin1');
    if (isIP(address) === 0) return { kind: 'forged' };
    return { kind: 'flow', flow: { address, port: body.readUInt16BE(1), required: (body[0]! & 1) === 1 } };
  }

  /** A Record-Route value for `leg` whose URI carries the token of `flow` as its user part. */
  recordRoute(leg: Leg, flow: Flow): string {
    const contact = leg.contact;
    const colon = contact.indexOf(':');
    return `<${contact.slice(0, colon + 1)}${this.encode(leg, flow)}@${contact.slice(colon + 1)};lr>`;
  }

  #mac(leg: Leg, body: Buffer): Buffer {
    return createHmac('sha256', this.#key)
      .update(`${leg.transport}|${leg.address}|${leg.port}|`)
      .update(body)
      .digest()
      .subarray(0, MAC_BYTES);
  }
}
