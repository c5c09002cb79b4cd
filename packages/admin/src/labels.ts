/**
 * Label values. Every label a peer can influence is mapped onto a small fixed set, so a flood of
 * made-up methods or status codes cannot grow the number of series without bound.
 */

// RFC 3261 §27.4 and the extensions registered since (IANA "SIP Methods").
const METHODS = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'INFO', 'PRACK', 'UPDATE',
  'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH',
]);

/** A request method as a label: the registered methods as they are, anything else `other`. */
export function methodLabel(method: unknown): string {
  return typeof method === 'string' && METHODS.has(method) ? method : 'other';
}

/** `2xx` for 200..299 and so on (RFC 3261 §7.2); `other` outside 100..699. */
export function statusClass(status: unknown): string {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 699) return 'other';
  return `${Math.floor(status / 100)}xx`;
}

/** A status code as a label: the code itself when it is a valid SIP status, else `other`. */
export function statusLabel(status: unknown): string {
  return statusClass(status) === 'other' ? 'other' : String(status);
}

/** What a leg is in labels: `udp:127.0.0.1:5060`, `tcp:[::1]:5060`. */
export function legLabel(leg: unknown): string {
  if (typeof leg !== 'object' || leg === null) return 'unknown';
  const { transport, address, port } = leg as { transport?: unknown; address?: unknown; port?: unknown };
  if (typeof transport !== 'string' || typeof address !== 'string' || typeof port !== 'number') return 'unknown';
  return `${transport}:${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** A short stable token (a reason or kind a package publishes) as a label; anything odd is `other`. */
export function tokenLabel(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9._-]{1,48}$/.test(value) ? value : 'other';
}
