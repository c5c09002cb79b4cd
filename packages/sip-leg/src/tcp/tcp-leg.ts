import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { isWildcard } from '../address.js';
import type { Destination } from '../destination.js';
import { StreamLeg } from '../stream/stream-leg.js';
import type { StreamLegOptions } from '../stream/stream-leg.js';

/** Options of {@link TcpLeg}. */
export type TcpLegOptions = StreamLegOptions;

/**
 * A TCP leg on IPv4 or IPv6: listens for connections and opens its own, reusing either
 * direction for a peer.
 *
 * @see RFC 3261 §18 (transport), §18.3 (framing); RFC 5626 §4.4.1 (CRLF keep-alive)
 */
export class TcpLeg extends StreamLeg {
  readonly transport = 'tcp' as const;

  constructor(options: TcpLegOptions = {}) {
    super(options, 5060);
  }

  protected createServer(accept: (socket: Socket) => void): Server {
    return createServer({ noDelay: true }, accept);
  }

  protected openSocket(destination: Destination): { socket: Socket; readyEvent: 'connect' } {
    const socket = connect({
      host: destination.address,
      port: destination.port,
      family: destination.family,
      ...(isWildcard(this.address) ? {} : { localAddress: this.address }),
    });
    return { socket, readyEvent: 'connect' };
  }
}
