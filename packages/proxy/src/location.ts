/**
 * The location service the proxy asks for a user's bindings (RFC 3261 §10, §16.5). A registrar
 * implements it; the proxy never imports one.
 */

/** One registered contact of an address-of-record. */
export interface Binding {
  /** The contact URI (`sip:bob@192.0.2.4:5062;transport=tcp`); a name-addr `<…>` is accepted too. */
  contact: string;
  /** Preference 0..1 (RFC 3261 §20.10); absent counts as 1. */
  q?: number;
  /** When it was registered or refreshed (any increasing number, e.g. ms since the epoch). */
  updated?: number;
  /** Path header values recorded at registration (RFC 3327 §5.3): they become the Route set. */
  path?: readonly string[];
  /**
   * The transport address the REGISTER came from (the registrar records it). Used when the
   * contact cannot be reached by itself: a WebSocket client's `.invalid` host (RFC 7118 §5).
   */
  /** Where the REGISTER came from; `local` names the leg it arrived on (`transport:address:port`). */
  source?: { transport: string; address: string; port: number; local?: string };
  /** Contact header parameters recorded at registration (`reg-id`, `+sip.instance`: RFC 5626 outbound). */
  params?: Readonly<Record<string, string | null>>;
}

/**
 * What the proxy needs from a registrar.
 * @see RFC 3261 §16.5 (determining request targets)
 */
export interface LocationService {
  /**
   * Current bindings of an address-of-record in canonical form `sip:user@host` (see
   * `canonicalAor` of @sipway/sip-message); an empty list when it has none. `@sipway/registrar`'s `Registrar`
   * fits as it is.
   */
  lookup(aor: string): Promise<readonly Binding[]> | readonly Binding[];
  /**
   * True when the address-of-record exists although it has no binding now: the proxy then
   * answers 480 instead of 404 (RFC 3261 §21.4.18). Optional.
   */
  knows?(aor: string): Promise<boolean> | boolean;
}

/** Highest q first (absent = 1), then the most recently updated. */
export function bestBinding(bindings: readonly Binding[]): Binding | undefined {
  let best: Binding | undefined;
  for (const b of bindings) {
    if (best === undefined) {
      best = b;
      continue;
    }
    const qa = b.q ?? 1;
    const qb = best.q ?? 1;
    if (qa > qb || (qa === qb && (b.updated ?? 0) > (best.updated ?? 0))) best = b;
  }
  return best;
}

/** The URI of a binding's contact (strips `<…>` and header parameters of a name-addr). */
export function bindingUri(contact: string): string {
  const lt = contact.indexOf('<');
  if (lt === -1) return contact.trim();
  const gt = contact.indexOf('>', lt);
  return contact.slice(lt + 1, gt === -1 ? undefined : gt).trim();
}
