import type { Leg, LegLogger } from '@sipway/sip-leg';
import type { LegConfig } from './config.js';
import { CONNECTION_DEFAULTS, streamLegOptions } from './connection-limits.js';
import type { ConnectionLimitsConfig } from './connection-limits.js';

/**
 * Builds the leg for one config entry. Transports load on demand (sip-leg's subpath exports), so
 * a proxy without WebSocket legs never loads `ws`.
 */
export async function createLeg(config: LegConfig, logger: LegLogger, limits: ConnectionLimitsConfig = CONNECTION_DEFAULTS): Promise<Leg> {
  const base = { address: config.address, port: config.port, host: config.host, logger };
  // Connection-oriented legs: the idle close, and registered flows kept open (RFC 5626 §5.2).
  const flows = {
    ...(config.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.idleTimeoutMs }),
    ...(config.keepRegisteredFlows === undefined ? {} : { keepRegisteredFlows: config.keepRegisteredFlows }),
  };
  const stream = { ...base, ...streamLegOptions(limits, config.transport), ...flows };
  switch (config.transport) {
    case 'udp': {
      const { UdpLeg } = await import('@sipway/sip-leg/udp');
      return new UdpLeg({ ...base, ...(config.receiveBuffer === undefined ? {} : { receiveBufferSize: config.receiveBuffer }) });
    }
    case 'tcp': {
      const { TcpLeg } = await import('@sipway/sip-leg/tcp');
      return new TcpLeg(stream);
    }
    case 'tls': {
      const { TlsLeg } = await import('@sipway/sip-leg/tls');
      return new TlsLeg({ ...stream, certFile: config.tlsCert!, keyFile: config.tlsKey! });
    }
    case 'ws':
    case 'wss': {
      const { WsLeg } = await import('@sipway/sip-leg/ws');
      return new WsLeg({
        ...stream,
        secure: config.transport === 'wss',
        ...(config.transport === 'wss' ? { certFile: config.tlsCert!, keyFile: config.tlsKey! } : {}),
        ...(config.wsPath === undefined ? {} : { path: config.wsPath }),
      });
    }
  }
}
