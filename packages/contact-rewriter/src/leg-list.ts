/** The parts of a leg that make up its Net::SIP identity. */
export interface NetSipLegIdentity {
  readonly proto: string;
  /** Address without brackets, as Net::SIP stores it (`192.0.2.10`, `2001:db8::10`). */
  readonly addr: string;
  readonly port: number;
  /** Perl class of the leg. Default `Net::SIP::Leg`. */
  readonly className?: string;
}

/**
 * Net::SIP's `Leg::key`: `"<class> <proto>:<addr>:<port>"`, e.g.
 * `Net::SIP::Leg udp:192.0.2.10:5060`. Use it as a leg's `key` to make the leg-list identity
 * exactly Net::SIP's.
 */
export function netSipLegKey(leg: NetSipLegIdentity): string {
  return `${leg.className ?? 'Net::SIP::Leg'} ${leg.proto}:${leg.addr}:${leg.port}`;
}

/**
 * The identity of a leg list, authenticated in every token (Net::SIP's `legs2i` dictionary):
 * the leg keys in order, joined by `|`. Adding, removing, reordering or renaming a leg
 * changes it, and with it invalidates every token.
 */
export function legListIdentity(keys: readonly string[]): string {
  return keys.join('|');
}
