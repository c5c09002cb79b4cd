// A client of rtpengine's ng control protocol over UDP: `COOKIE SPACE BENCODE-DICT` datagrams,
// replies matched to requests by cookie, retransmitted with the same cookie (rtpengine keeps a
// cookie cache and answers a retransmission from it instead of running the command twice).
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { bencodeDecode, bencodeEncode, type BencodeDict, type BencodeInput } from './bencode.js';
import { RtpengineError } from './errors.js';

/** Optional logger in pino's `(fields, msg)` shape, as every sipway package takes (a pino logger fits). */
import type { MediaRelayLogger } from '../builtin.js';
export type RtpengineLogger = MediaRelayLogger;

/** Options of {@link RtpengineClient}. Unknown options are an error. */
export interface RtpengineClientOptions {
  /** rtpengine's ng control address (`--listen-ng`): an IPv4 or IPv6 address or a host name. */
  readonly host: string;
  /** Its UDP port (rtpengine's packaged default is 2223; there is no protocol default). */
  readonly port: number;
  /** Wait for a reply this long before sending the same request again. Default 1000 ms. */
  readonly timeoutMs?: number | undefined;
  /** Retransmissions after the first try (same cookie). Default 2: three tries, 3 s at most. */
  readonly retries?: number | undefined;
  /** Requests waiting for a reply at once; more fail at once with `RTPENGINE_OVERLOADED`. Default 4096. */
  readonly maxPending?: number | undefined;
  /** Local address to send from (multi-homed hosts). Default: the system's choice. */
  readonly localAddress?: string | undefined;
  readonly logger?: RtpengineLogger | undefined;
}

/** A reply as rtpengine sent it, once `result` was checked. */
export interface RtpengineReply {
  /** `ok` or `pong`. */
  readonly result: string;
  /** rtpengine's non-fatal warning, if any (also logged at warn level). */
  readonly warning: string | undefined;
  /** The whole decoded dictionary. */
  readonly dict: BencodeDict;
}

const CLIENT_OPTIONS = new Set(['host', 'port', 'timeoutMs', 'retries', 'maxPending', 'localAddress', 'logger']);

interface Pending {
  readonly cookie: string;
  readonly command: string;
  readonly datagram: Buffer;
  readonly resolve: (reply: RtpengineReply) => void;
  readonly reject: (error: RtpengineError) => void;
  tries: number;
  timer: NodeJS.Timeout | undefined;
}

/** Checks the options shared by the client and the relay; throws `RTPENGINE_OPTION_INVALID`. */
export function checkClientOptions(options: RtpengineClientOptions): void {
  const invalid = (message: string): never => {
    throw new RtpengineError('RTPENGINE_OPTION_INVALID', message);
  };
  if (typeof options.host !== 'string' || options.host === '') invalid('rtpengine: host must be a non-empty string');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    invalid(`rtpengine: port must be 1-65535, got ${String(options.port)}`);
  }
  const { timeoutMs, retries, maxPending } = options;
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 10 || timeoutMs > 60_000)) {
    invalid(`rtpengine: timeoutMs must be 10-60000, got ${String(timeoutMs)}`);
  }
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0 || retries > 10)) {
    invalid(`rtpengine: retries must be 0-10, got ${String(retries)}`);
  }
  if (maxPending !== undefined && (!Number.isInteger(maxPending) || maxPending < 1)) {
    invalid(`rtpengine: maxPending must be a positive integer, got ${String(maxPending)}`);
  }
  if (options.localAddress !== undefined && isIP(options.localAddress) === 0) {
    invalid(`rtpengine: localAddress must be an IP address, got ${String(options.localAddress)}`);
  }
}

/**
 * One UDP socket connected to one rtpengine. Requests are independent and may overlap; several
 * clients (several proxies) can share one rtpengine: cookies start with 12 random hex digits per
 * client, so they never collide in rtpengine's cookie cache.
 *
 * ```ts
 * const client = await RtpengineClient.connect({ host: '127.0.0.1', port: 2223 });
 * await client.ping(); // throws RtpengineError RTPENGINE_TIMEOUT / RTPENGINE_UNREACHABLE
 * const reply = await client.request({ command: 'query', 'call-id': 'abc' });
 * await client.close();
 * ```
 */
export class RtpengineClient {
  /** `host:port` as given, for messages. */
  readonly target: string;
  readonly #socket: Socket;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxPending: number;
  readonly #logger: RtpengineLogger | undefined;
  readonly #prefix = randomBytes(6).toString('hex');
  readonly #pending = new Map<string, Pending>();
  #counter = 0;
  #closed = false;
  #stats = { requests: 0, retransmissions: 0, timeouts: 0, strayReplies: 0 };

  private constructor(socket: Socket, target: string, options: RtpengineClientOptions) {
    this.#socket = socket;
    this.target = target;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#retries = options.retries ?? 2;
    this.#maxPending = options.maxPending ?? 4096;
    this.#logger = options.logger;
    socket.on('message', (data) => this.#onMessage(data));
    // On a connected socket an ICMP port unreachable comes back as ECONNREFUSED: nothing listens
    // on the control address, so every waiting request fails now instead of after its timeouts.
    socket.on('error', (error: NodeJS.ErrnoException) => this.#onSocketError(error));
  }

  /**
   * Resolves `host`, opens a UDP socket of its family and connects it to rtpengine (no datagram
   * is sent: call {@link ping} to check that rtpengine answers).
   */
  static async connect(options: RtpengineClientOptions): Promise<RtpengineClient> {
    for (const key of Object.keys(options)) {
      if (!CLIENT_OPTIONS.has(key)) throw new RtpengineError('RTPENGINE_OPTION_INVALID', `rtpengine: unknown option ${key}`);
    }
    checkClientOptions(options);
    const host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
    let address = host;
    let family = isIP(host);
    if (family === 0) {
      try {
        const found = await lookup(host);
        address = found.address;
        family = found.family;
      } catch (error) {
        throw new RtpengineError('RTPENGINE_UNREACHABLE', `rtpengine: cannot resolve ${host}: ${(error as Error).message}`, { cause: error });
      }
    }
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
    const target = family === 6 ? `[${address}]:${options.port}` : `${address}:${options.port}`;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        socket.close();
        reject(new RtpengineError('RTPENGINE_UNREACHABLE', `rtpengine: cannot open a socket to ${target}: ${error.message}`, { cause: error }));
      };
      socket.once('error', fail);
      const connect = (): void =>
        socket.connect(options.port, address, () => {
          socket.off('error', fail);
          resolve();
        });
      if (options.localAddress === undefined) connect();
      else socket.bind(0, options.localAddress, connect);
    });
    return new RtpengineClient(socket, target, options);
  }

  /** Counters since start: requests sent, retransmissions, requests that timed out, replies nobody waited for. */
  get stats(): Readonly<{ requests: number; retransmissions: number; timeouts: number; strayReplies: number; pending: number }> {
    return { ...this.#stats, pending: this.#pending.size };
  }

  /**
   * `ping`: resolves when rtpengine answers `pong`, else throws `RTPENGINE_TIMEOUT` (after all
   * tries) or `RTPENGINE_UNREACHABLE` (refused at once), with a message naming the address.
   */
  async ping(): Promise<void> {
    try {
      const reply = await this.request({ command: 'ping' });
      if (reply.result !== 'pong') {
        throw new RtpengineError('RTPENGINE_BAD_REPLY', `rtpengine at ${this.target} answered ping with ${reply.result}, not pong`);
      }
    } catch (error) {
      if (!RtpengineError.isInstance(error) || (error.rtpengineCode !== 'RTPENGINE_TIMEOUT' && error.rtpengineCode !== 'RTPENGINE_UNREACHABLE')) throw error;
      const why =
        error.rtpengineCode === 'RTPENGINE_TIMEOUT'
          ? `did not answer ping within ${this.#timeoutMs * (this.#retries + 1)} ms (${this.#retries + 1} tries)`
          : 'refused the ping (ICMP port unreachable)';
      throw new RtpengineError(error.rtpengineCode, `rtpengine at ${this.target} ${why}: is rtpengine running with --listen-ng=${this.target}?`, {
        cause: error,
      });
    }
  }

  /**
   * Sends one ng command and resolves with its reply. `result: error` rejects with
   * `RTPENGINE_ERROR` (the text in `reason`), `result: load limit` with `RTPENGINE_LOAD_LIMIT`;
   * a `warning` is logged and returned. Keys whose value is `undefined` are left out.
   */
  request(dict: { readonly command: string; readonly [key: string]: BencodeInput | undefined }): Promise<RtpengineReply> {
    if (this.#closed) return Promise.reject(new RtpengineError('RTPENGINE_CLOSED', `rtpengine client for ${this.target} is closed`));
    if (this.#pending.size >= this.#maxPending) {
      return Promise.reject(
        new RtpengineError('RTPENGINE_OVERLOADED', `rtpengine: ${this.#pending.size} requests already wait for ${this.target}`),
      );
    }
    const cookie = `${this.#prefix}_${(this.#counter++).toString(36)}`;
    const datagram = Buffer.concat([Buffer.from(`${cookie} `, 'latin1'), bencodeEncode(dict)]);
    return new Promise<RtpengineReply>((resolve, reject) => {
      const pending: Pending = { cookie, command: dict.command, datagram, resolve, reject, tries: 0, timer: undefined };
      this.#pending.set(cookie, pending);
      this.#stats.requests++;
      this.#send(pending);
    });
  }

  #send(pending: Pending): void {
    pending.tries++;
    if (pending.tries > 1) {
      this.#stats.retransmissions++;
      this.#logger?.debug?.({ command: pending.command, cookie: pending.cookie, try: pending.tries }, 'rtpengine: retransmitting');
    }
    this.#socket.send(pending.datagram, (error) => {
      // A send error (ENOBUFS, EMSGSIZE) is treated as a lost datagram: the timer retries it.
      if (error !== null && error !== undefined) {
        this.#logger?.debug?.({ command: pending.command, error: error.message }, 'rtpengine: send failed');
      }
    });
    pending.timer = setTimeout(() => this.#onTimeout(pending), this.#timeoutMs);
  }

  #onTimeout(pending: Pending): void {
    if (this.#pending.get(pending.cookie) !== pending) return;
    if (pending.tries <= this.#retries) {
      this.#send(pending);
      return;
    }
    this.#pending.delete(pending.cookie);
    this.#stats.timeouts++;
    pending.reject(
      new RtpengineError(
        'RTPENGINE_TIMEOUT',
        `rtpengine at ${this.target} did not answer ${pending.command} (${pending.tries} tries, ${this.#timeoutMs} ms each)`,
      ),
    );
  }

  #onMessage(data: Buffer): void {
    const space = data.indexOf(0x20);
    // Cookies are short; a reply whose cookie we do not wait for is counted and dropped.
    const pending = space > 0 && space <= 64 ? this.#pending.get(data.toString('latin1', 0, space)) : undefined;
    if (pending === undefined) {
      this.#stats.strayReplies++;
      return;
    }
    this.#pending.delete(pending.cookie);
    clearTimeout(pending.timer);
    let dict: BencodeDict;
    try {
      const value = bencodeDecode(data, space + 1);
      if (typeof value !== 'object' || Array.isArray(value)) throw new Error('not a dictionary');
      dict = value;
    } catch (error) {
      pending.reject(
        new RtpengineError('RTPENGINE_BAD_REPLY', `rtpengine at ${this.target} sent an unreadable reply to ${pending.command}: ${(error as Error).message}`, {
          cause: error,
        }),
      );
      return;
    }
    const result = dict['result'];
    const text = (key: string): string | undefined => (typeof dict[key] === 'string' ? (dict[key] as string) : undefined);
    if (result === 'ok' || result === 'pong') {
      const warning = text('warning');
      if (warning !== undefined) this.#logger?.warn?.({ command: pending.command, warning }, 'rtpengine: warning');
      pending.resolve({ result, warning, dict });
    } else if (result === 'error') {
      const reason = text('error-reason') ?? 'no reason given';
      pending.reject(new RtpengineError('RTPENGINE_ERROR', `rtpengine refused ${pending.command}: ${reason}`, { reason }));
    } else if (result === 'load limit') {
      const reason = text('message') ?? 'load limit';
      pending.reject(new RtpengineError('RTPENGINE_LOAD_LIMIT', `rtpengine refused ${pending.command}: ${reason}`, { reason }));
    } else {
      pending.reject(new RtpengineError('RTPENGINE_BAD_REPLY', `rtpengine answered ${pending.command} with result ${JSON.stringify(result)}`));
    }
  }

  #onSocketError(error: NodeJS.ErrnoException): void {
    if (error.code !== 'ECONNREFUSED') {
      this.#logger?.warn?.({ target: this.target, error: error.message }, 'rtpengine: socket error');
      return;
    }
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new RtpengineError('RTPENGINE_UNREACHABLE', `rtpengine at ${this.target} refused ${pending.command} (ICMP port unreachable)`));
    }
    this.#pending.clear();
  }

  /** Closes the socket; waiting requests fail with `RTPENGINE_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new RtpengineError('RTPENGINE_CLOSED', `rtpengine client for ${this.target} closed before ${pending.command} was answered`));
    }
    this.#pending.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
