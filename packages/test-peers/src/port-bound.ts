// Readiness of a peer that prints no "listening" line (sipp, Net::SIP): its port is bound.
import { readFileSync } from 'node:fs';
import { until } from './wait.js';

/**
 * Whether something holds `port` (any address): a UDP socket bound to it, or a TCP socket
 * listening on it. Read from /proc/net/{udp,tcp}{,6}, so the check never competes with the peer
 * for the port.
 */
export function portBound(port: number, protocol: 'udp' | 'tcp' = 'udp'): boolean {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    let table = '';
    try {
      table = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    // Column 2 is local_address:port in hex, column 4 the state (0A: TCP LISTEN).
    for (const line of table.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if ((cols[1] ?? '').endsWith(suffix) && (protocol === 'udp' || cols[3] === '0A')) return true;
    }
  }
  return false;
}

/** Resolves once something holds `port`; rejects after `timeoutMs`. */
export function waitPortBound(port: number, protocol: 'udp' | 'tcp' = 'udp', timeoutMs = 10_000): Promise<void> {
  return until(() => portBound(port, protocol), timeoutMs, `something to bind ${protocol.toUpperCase()} port ${port}`);
}
