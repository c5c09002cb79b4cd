import type { Leg, LegLogger } from '@sipway/sip-leg';
import type { LegSpec } from './leg-spec.js';

/**
 * Builds the leg for one `--leg`. Transports load on demand (sip-leg's subpath exports), so a
 * registrar without WebSocket legs never loads `ws`.
 */
export async function createLeg(spec: LegSpec, tls: { cert?: string | undefined; key?: string | undefined }, logger: LegLogger): Promise<Leg> {
  const base = { address: spec.address, port: spec.port, logger };
  switch (spec.transport) {
    case 'udp': {
      const { UdpLeg } = await import('@sipway/sip-leg/udp');
      return new UdpLeg(base);
    }
    case 'tcp': {
      const { TcpLeg } = await import('@sipway/sip-leg/tcp');
      return new TcpLeg(base);
    }
    case 'tls': {
      const { TlsLeg } = await import('@sipway/sip-leg/tls');
      return new TlsLeg({ ...base, certFile: tls.cert!, keyFile: tls.key! });
    }
    case 'ws':
    case 'wss': {
      const { WsLeg } = await import('@sipway/sip-leg/ws');
      const secure = spec.transport === 'wss';
      return new WsLeg({ ...base, secure, ...(secure ? { certFile: tls.cert!, keyFile: tls.key! } : {}) });
    }
  }
}
