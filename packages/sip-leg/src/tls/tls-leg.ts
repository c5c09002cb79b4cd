import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { connect, createSecureContext, createServer } from 'node:tls';
import type { SecureContext, SecureContextOptions, TLSSocket } from 'node:tls';
import { isWildcard } from '../address.js';
import type { Destination } from '../destination.js';
import { LegOptionsError } from '../errors.js';
import { StreamLeg } from '../stream/stream-leg.js';
import type { StreamLegOptions } from '../stream/stream-leg.js';
import { defaultPort } from '../destination.js';

/** Options of {@link TlsLeg}. */
export interface TlsLegOptions extends StreamLegOptions {
  /** PEM certificate (chain) file; read at start and on `reload()`. */
  certFile: string;
  /** PEM private key file; read at start and on `reload()`. */
  keyFile: string;
  /** PEM CA file trusted for peers (client and, with `requestCert`, server side); default: Node's roots. */
  caFile?: string | undefined;
  /** Ask clients for a certificate (mutual TLS, RFC 5922 §7.4). Default false. */
  requestCert?: boolean | undefined;
  /** Check the peer's certificate (outgoing always, incoming when `requestCert`). Default true. */
  rejectUnauthorized?: boolean | undefined;
  /** More Node TLS context options (ciphers, minVersion ...), merged under the files. */
  tls?: SecureContextOptions | undefined;
}

/**
 * A TLS leg (SIP over TLS over TCP, `sips:`). Certificate and key come from files and can be
 * reloaded without a restart: new connections use the new ones, open ones keep theirs.
 *
 * @see RFC 3261 §26.2 (TLS, sips), RFC 5922 (domain certificates), RFC 5630 (sips usage)
 */
export class TlsLeg extends StreamLeg {
  readonly transport = 'tls' as const;
  private readonly files: { cert: string; key: string; ca: string | undefined };
  private readonly requestCert: boolean;
  private readonly rejectUnauthorized: boolean;
  private readonly extra: SecureContextOptions;
  private context: SecureContext | undefined;
  private material: { cert: Buffer; key: Buffer; ca: Buffer | undefined } | undefined;

  constructor(options: TlsLegOptions) {
    super(options, defaultPort('tls'));
    if (!options?.certFile || !options.keyFile) throw new LegOptionsError('TLS leg needs certFile and keyFile');
    this.files = { cert: options.certFile, key: options.keyFile, ca: options.caFile };
    this.requestCert = options.requestCert ?? false;
    this.rejectUnauthorized = options.rejectUnauthorized ?? true;
    this.extra = options.tls ?? {};
  }

  /**
   * Re-read certificate, key and CA files and use them for every new connection.
   * Throws (and keeps the old ones) when the files are unreadable or do not match.
   */
  reload(): void {
    const material = {
      cert: readFileSync(this.files.cert),
      key: readFileSync(this.files.key),
      ca: this.files.ca === undefined ? undefined : readFileSync(this.files.ca),
    };
    const options = this.contextOptions(material);
    const context = createSecureContext(options); // validates the pair before anything changes
    this.material = material;
    this.context = context;
    (this.server as ReturnType<typeof createServer> | undefined)?.setSecureContext(options);
  }

  private contextOptions(material: { cert: Buffer; key: Buffer; ca: Buffer | undefined }): SecureContextOptions {
    return { ...this.extra, cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}) };
  }

  protected override listen(): Promise<void> {
    this.reload();
    return super.listen();
  }

  protected createServer(accept: (socket: Socket) => void): Server {
    if (this.material === undefined) this.reload();
    const material = this.material;
    if (material === undefined) throw new LegOptionsError('TLS material missing');
    const server = createServer(
      {
        ...this.contextOptions(material),
        requestCert: this.requestCert,
        rejectUnauthorized: this.requestCert && this.rejectUnauthorized,
        // A client that opens TCP but never finishes the handshake must not hold a slot forever.
        handshakeTimeout: this.connectTimeoutMs,
      },
      (socket: TLSSocket) => accept(socket),
    );
    server.on('tlsClientError', (error) => this.publishError('tls-handshake-failed', error));
    return server;
  }

  protected openSocket(destination: Destination): { socket: Socket; readyEvent: 'secureConnect' } {
    const socket = connect({
      host: destination.address,
      port: destination.port,
      ...(isWildcard(this.address) ? {} : { localAddress: this.address }),
      ...(this.context ? { secureContext: this.context } : {}),
      // RFC 5922 §4: check the certificate against the SIP domain (the name we resolved), or the IP.
      ...(destination.hostname ? { servername: destination.hostname } : {}),
      rejectUnauthorized: this.rejectUnauthorized,
    });
    return { socket, readyEvent: 'secureConnect' };
  }
}
