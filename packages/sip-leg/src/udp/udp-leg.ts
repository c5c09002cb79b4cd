import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { canonicalAddress, hostPort, ipFamily } from '../address.js';
import type { Destination } from '../destination.js';
import { LegStartError } from '../errors.js';
import { BaseLeg, failure } from '../leg.js';
import type { BaseLegOptions, SendResult } from '../leg.js';

/** Options of {@link UdpLeg}. */
export interface UdpLegOptions extends BaseLegOptions {
  /** Kernel receive buffer size in bytes (`SO_RCVBUF`); default: the OS default. */
  receiveBufferSize?: number | undefined;
  /** Kernel send buffer size in bytes (`SO_SNDBUF`). */
  sendBufferSize?: number | undefined;
}

/** Datagrams shorter than this are keep-alives or noise and are ignored (Net::SIP, RFC 5626 §3.5.1 STUN/CRLF). */
const MIN_DATAGRAM = 13;

/**
 * The socket's `lookup`: destinations reach `transmit` resolved (the dispatcher resolves names),
 * so they are IP literals, answered at once. node:dgram's default (dns.lookup) answers even a
 * literal a tick later, which cost every send a deferred call. A name that still gets here is
 * refused, not resolved behind the dispatcher's back.
 */
function literalLookup(address: string, family: unknown, callback: (error: Error | null, address: string, family: number) => void): void {
  const found = ipFamily(address);
  if (found !== undefined) callback(null, address, found);
  else callback(Object.assign(new Error(`not an IP address: ${address}`), { code: 'EINVAL' }), address, 0);
}

/**
 * A UDP leg on IPv4 or IPv6: one datagram is one message.
 *
 * @see RFC 3261 §18.1.1, §18.2.1 (received), §18.2.2 (responses to Via), RFC 3581 (rport)
 */
export class UdpLeg extends BaseLeg {
  readonly transport = 'udp' as const;
  private socket: Socket | undefined;
  private readonly receiveBufferSize: number | undefined;
  private readonly sendBufferSize: number | undefined;

  constructor(options: UdpLegOptions = {}) {
    super(options, 5060);
    this.receiveBufferSize = options.receiveBufferSize;
    this.sendBufferSize = options.sendBufferSize;
  }

  protected listen(): Promise<void> {
    const family = this.family;
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, lookup: literalLookup });
    this.socket = socket;
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.close();
        reject(new LegStartError(this.describe(), error));
      };
      socket.once('error', onError);
      socket.bind({ address: this.address, port: this.port, exclusive: true }, () => {
        socket.off('error', onError);
        if (this.receiveBufferSize !== undefined) socket.setRecvBufferSize(this.receiveBufferSize);
        if (this.sendBufferSize !== undefined) socket.setSendBufferSize(this.sendBufferSize);
        this.boundPort = socket.address().port;
        socket.on('error', (error) => this.publishError('socket-error', error));
        socket.on('message', (datagram, rinfo) => {
          if (datagram.length < MIN_DATAGRAM || !this.accepting) return;
          this.handleBytes(
            datagram,
            { transport: 'udp', address: canonicalAddress(rinfo.address), port: rinfo.port, family },
          );
        });
        resolve();
      });
    });
  }

  protected transmit(bytes: Uint8Array, destination: Destination): Promise<SendResult> {
    const socket = this.socket;
    if (socket === undefined) return Promise.resolve(failure('SEND_FAILED', 503, 'socket is gone'));
    return new Promise<SendResult>((resolve) => {
      try {
        socket.send(bytes, destination.port, destination.address, (error) => {
          if (error === null || error === undefined) resolve({ ok: true, destination });
          else if ((error as NodeJS.ErrnoException).code === 'EMSGSIZE') {
            resolve(failure('MESSAGE_TOO_LARGE', 513, `datagram too large for ${hostPort(destination.address, destination.port)}`, error));
          } else resolve(failure('SEND_FAILED', 503, `send to ${hostPort(destination.address, destination.port)} failed: ${error.message}`, error));
        });
      } catch (error) {
        resolve(failure('SEND_FAILED', 503, `send failed: ${String(error)}`, error));
      }
    });
  }

  protected shutdown(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  protected abort(): void {
    const socket = this.socket;
    this.socket = undefined;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }
}
