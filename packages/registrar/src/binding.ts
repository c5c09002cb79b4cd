/**
 * The data a location service keeps: plain JSON (no class instances, no Dates, no Maps) so a
 * shared store can hold it as it is, with every time an absolute epoch in milliseconds.
 */

/** Where a REGISTER came from (the transport address of the client, RFC 3261 §18.2.1). */
export interface BindingSource {
  transport: string;
  address: string;
  port: number;
  /**
   * The local leg the REGISTER arrived on, `transport:address:port` (IPv6 in brackets): a proxy
   * with several legs sends requests for this binding out of the same leg (its network).
   */
  local?: string;
}

/**
 * One binding of an address-of-record to a contact address.
 * @see RFC 3261 §10.3 (step 7: Call-ID and CSeq are stored per binding)
 */
export interface Binding {
  /** The contact URI as the client wrote it (inside `<…>`): where requests for the AOR go. */
  contact: string;
  /** Absolute expiry, epoch milliseconds. */
  expires: number;
  /** The `q` parameter (0..1) when the client gave one. Absent sorts as 1.0. */
  q?: number;
  /** Call-ID of the REGISTER that last changed this binding. */
  callId: string;
  /** CSeq number of that REGISTER. */
  cseq: number;
  /** When the binding was last added or refreshed, epoch milliseconds ("newest first"). */
  updated: number;
  /**
   * Other Contact header parameters as written (`+sip.instance`, `reg-id`, …; not `expires` or
   * `q`), echoed in the 200 so RFC 5626 clients recognise their bindings.
   */
  params?: Record<string, string | null>;
  /** The transport address the REGISTER came from, for a proxy that must reach a client behind NAT. */
  source?: BindingSource;
}

/** Everything a store keeps for one address-of-record. */
export interface LocationRecord {
  /** The AOR in canonical form (see `toAor`). */
  aor: string;
  /** Bindings as saved; may include lapsed ones until the next `expire()`. */
  bindings: Binding[];
  /**
   * Absolute epoch ms until which the record itself is kept, even with no binding left — what
   * makes an AOR "known" (a proxy answers 480 rather than 404). Never before the last binding's expiry.
   */
  expiresAt: number;
  /** Increases on every save of this AOR; 0 means "no record" in {@link SaveOptions.expectedVersion}. */
  version: number;
}

/** The best binding first: highest q (absent = 1.0), then most recently updated. */
export function compareBindings(a: Binding, b: Binding): number {
  const qa = a.q ?? 1;
  const qb = b.q ?? 1;
  if (qa !== qb) return qb - qa;
  return b.updated - a.updated;
}

/** The bindings still live at `now`, best first (see {@link compareBindings}). */
export function liveBindings(bindings: readonly Binding[], now: number): Binding[] {
  return bindings.filter((b) => b.expires > now).sort(compareBindings);
}
