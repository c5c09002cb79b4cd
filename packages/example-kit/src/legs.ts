import type { Leg, LegLogger } from '@sipway/sip-leg';
import type { LegTransport } from './leg-spec.js';

/** What a leg is built from: the parsed `--leg` plus the settings an example has for it. */
export interface LegBuild {
  transport: LegTransport;
  address: string;
  port: number;
  host?: string | undefined;
  /** UDP: SO_RCVBUF. */
  receiveBuffer?: number | undefined;
  /** Connection-oriented legs: the idle close, and registered flows kept open (RFC 5626 §5.2). */
  idleTimeoutMs?: number | undefined;
  keepRegisteredFlows?: boolean | undefined;
  /** tls and wss. */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** ws and wss: the HTTP path of the upgrade. */
  wsPath?: string | undefined;
}

/**
 * Builds the leg for one `--leg` (or config entry). Transports load on demand (sip-leg's subpath
 * exports), so a server without WebSocket legs never loads `ws`. `stream`: extra options of the
 * connection-oriented legs (connection limits).
 */
export async function createLeg(config: LegBuild, logger: LegLogger, stream: Record<string, number> = {}): Promise<Leg> {
  const base = { address: config.address, port: config.port, host: config.host, logger };
  const flows = {
    ...(config.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.idleTimeoutMs }),
    ...(config.keepRegisteredFlows === undefined ? {} : { keepRegisteredFlows: config.keepRegisteredFlows }),
  };
  const streamOptions = { ...base, ...stream, ...flows };
  switch (config.transport) {
    case 'udp': {
      const { UdpLeg } = await import('@sipway/sip-leg/udp');
      return new UdpLeg({ ...base, ...(config.receiveBuffer === undefined ? {} : { receiveBufferSize: config.receiveBuffer }) });
    }
    case 'tcp': {
      const { TcpLeg } = await import('@sipway/sip-leg/tcp');
      return new TcpLeg(streamOptions);
    }
    case 'tls': {
      const { TlsLeg } = await import('@sipway/sip-leg/tls');
      return new TlsLeg({ ...streamOptions, certFile: config.tlsCert!, keyFile: config.tlsKey! });
    }
    case 'ws':
    case 'wss': {
      const { WsLeg } = await import('@sipway/sip-leg/ws');
      return new WsLeg({
        ...streamOptions,
        secure: config.transport === 'wss',
        ...(config.transport === 'wss' ? { certFile: config.tlsCert!, keyFile: config.tlsKey! } : {}),
        ...(config.wsPath === undefined ? {} : { path: config.wsPath }),
      });
    }
  }
}
