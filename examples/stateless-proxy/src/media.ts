/**
 * `--media`: which relay carries RTP between the legs (Net::SIP's `--nathelper`).
 * `builtin[:PORTMIN-PORTMAX]` is @sipway/media-relay's in-process relay; `rtpengine:HOST:PORT`
 * drives an rtpengine over its ng control protocol.
 */
import { isIP } from 'node:net';
import { BuiltinMediaRelay, RtpengineMediaRelay } from '@sipway/media-relay';
import type { MediaRelayLogger } from '@sipway/media-relay';
import type { MediaRelay } from '@sipway/proxy';
import { ConfigError } from '@sipway/example-kit';

/** The parsed `--media` value. */
export type MediaSpec =
  | { kind: 'builtin'; portMin: number; portMax: number; idleTimeoutS?: number | undefined }
  | { kind: 'rtpengine'; host: string; port: number };

/** The built-in relay's default port range (rtpengine's too). */
export const DEFAULT_MEDIA_PORTS = { portMin: 30000, portMax: 39999 } as const;

function invalid(message: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', `configuration: media ${message}`);
}

/**
 * Parses `builtin`, `builtin:30000-30999` or `rtpengine:127.0.0.1:2223` (IPv6 as `[::1]`);
 * `timeout` (`--media-timeout`, seconds) is the built-in relay's idle timeout.
 */
export function parseMediaSpec(text: string, timeout?: string): MediaSpec {
  const spec = parseMediaKind(text);
  if (timeout === undefined) return spec;
  const seconds = Number(timeout);
  if (!/^\d+(\.\d+)?$/.test(timeout.trim()) || seconds < 0.1 || seconds > 86400) throw new ConfigError('CONFIG_INVALID', `configuration: media-timeout "${timeout}": expected seconds from 0.1 to 86400`);
  if (spec.kind !== 'builtin') throw new ConfigError('CONFIG_INVALID', 'configuration: media-timeout applies to the built-in relay only (rtpengine has its own --timeout)');
  return { ...spec, idleTimeoutS: seconds };
}

function parseMediaKind(text: string): MediaSpec {
  const t = text.trim();
  if (t === 'builtin') return { kind: 'builtin', ...DEFAULT_MEDIA_PORTS };
  if (t.startsWith('builtin:')) {
    const m = /^builtin:(\d{1,5})-(\d{1,5})$/.exec(t);
    const portMin = Number(m?.[1]);
    const portMax = Number(m?.[2]);
    if (m === null || portMin < 1024 || portMax > 65535 || portMax < portMin + 1) {
      throw invalid(`"${text}": expected builtin:PORTMIN-PORTMAX with 1024 ≤ PORTMIN < PORTMAX ≤ 65535`);
    }
    if (portMin + (portMin % 2) + 1 > portMax) throw invalid(`"${text}": the range holds no RTP/RTCP pair (an even port and the next)`);
    return { kind: 'builtin', portMin, portMax };
  }
  if (t.startsWith('rtpengine:')) {
    const m = /^rtpengine:(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(t);
    const host = m?.[1]?.replace(/^\[|\]$/g, '');
    const port = Number(m?.[2]);
    if (m === null || host === undefined || port < 1 || port > 65535 || (m[1]!.startsWith('[') && isIP(host) !== 6)) {
      throw invalid(`"${text}": expected rtpengine:HOST:PORT (IPv6 as rtpengine:[::1]:PORT)`);
    }
    return { kind: 'rtpengine', host, port };
  }
  throw invalid(`"${text}": expected builtin, builtin:PORTMIN-PORTMAX or rtpengine:HOST:PORT`);
}

/** Media needs every leg on an address peers can send RTP to: 0.0.0.0 and :: cannot go in SDP. */
export function checkMediaLegs(legs: ReadonlyArray<{ address: string }>): void {
  const wildcard = legs.find((l) => l.address === '0.0.0.0' || l.address === '::');
  if (wildcard !== undefined) throw invalid(`needs every leg bound to a specific address (${wildcard.address} cannot be written in SDP)`);
}

/**
 * Builds (and for rtpengine, checks the reachability of) the relay a `--media` value names. An
 * rtpengine that does not answer `ping` (3 tries, 1 s each) stops the start with an error that
 * names its address (RTPENGINE_TIMEOUT / RTPENGINE_UNREACHABLE: exit 1).
 */
export async function createMediaRelay(spec: MediaSpec, logger: MediaRelayLogger): Promise<MediaRelay> {
  if (spec.kind === 'builtin') {
    return new BuiltinMediaRelay({
      portMin: spec.portMin,
      portMax: spec.portMax,
      ...(spec.idleTimeoutS === undefined ? {} : { idleTimeout: Math.round(spec.idleTimeoutS * 1000), sweepInterval: Math.min(1000, Math.round(spec.idleTimeoutS * 250)) }),
      logger,
    });
  }
  return RtpengineMediaRelay.start({ host: spec.host, port: spec.port, logger });
}
