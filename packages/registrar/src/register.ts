/**
 * The REGISTER rules of RFC 3261 §10.3 as two pure steps, so they are tested without a store:
 * {@link readRegister} checks the request on its own (steps 2, 5, 6 and the expiry rules of 7),
 * {@link applyRegister} merges it into the current bindings (step 7: Call-ID and CSeq ordering).
 */
import { sipUriEquals } from '@sipway/sip-message';
import type { Contact, SipRequest } from '@sipway/sip-message';
import { toAor } from './aor.js';
import type { Binding, BindingSource } from './binding.js';
import type { DomainMatcher } from './domains.js';

/** The expiry and size limits applied to REGISTERs. */
export interface RegisterPolicy {
  /** Seconds; shorter non-zero requests get 423 with Min-Expires. */
  minExpires: number;
  /** Seconds; longer requests are shortened to this. */
  maxExpires: number;
  /** Seconds; used when neither the contact nor the request says. */
  defaultExpires: number;
  /** Most bindings one AOR may hold. */
  maxBindings: number;
  /** Option tags this registrar supports (for Require, RFC 3261 §8.2.2.3). */
  supported: ReadonlySet<string>;
}

/** A response to send instead of changing anything. */
export interface RegisterReply {
  kind: 'reply';
  status: number;
  reason: string;
  headers?: Array<[string, string]>;
}

/** One Contact of the request with its expiry decided. */
export interface ContactUpdate {
  contact: string;
  /** Seconds; 0 removes the binding. */
  expires: number;
  q?: number;
  params?: Record<string, string | null>;
}

/** What a well-formed REGISTER asks for. */
export type RegisterIntent =
  | { kind: 'query'; aor: string }
  | { kind: 'remove-all'; aor: string; callId: string; cseq: number }
  | { kind: 'update'; aor: string; callId: string; cseq: number; updates: ContactUpdate[] };

const MAX_DELTA = 2 ** 32 - 1;

function reply(status: number, reason: string, headers?: Array<[string, string]>): RegisterReply {
  return headers === undefined ? { kind: 'reply', status, reason } : { kind: 'reply', status, reason, headers };
}

function otherParams(contact: Contact): Record<string, string | null> | undefined {
  let out: Record<string, string | null> | undefined;
  for (const [name, value] of Object.entries(contact.params)) {
    if (name === 'expires' || name === 'q' || name === '__proto__') continue;
    out ??= {};
    out[name] = value ?? null;
  }
  return out;
}

/**
 * Checks a REGISTER on its own and says what it asks for, or which error to answer.
 * The Request-URI domain was already found to be served (step 1).
 *
 * @see RFC 3261 §10.3 steps 2, 5, 6, 7; §20.10 (`*`), §20.19 (Expires), §21.4.17 (423)
 */
export function readRegister(request: SipRequest, policy: RegisterPolicy, serves: DomainMatcher): RegisterIntent | RegisterReply {
  // Step 2 (§8.2.2.3): extensions the client requires and we do not support.
  const unsupported = request
    .getHeaders('require')
    .map((t) => t.trim())
    .filter((t) => t.length > 0 && !policy.supported.has(t.toLowerCase()));
  if (unsupported.length > 0) return reply(420, 'Bad Extension', [['Unsupported', unsupported.join(', ')]]);

  let to;
  let contacts: Contact[];
  let cseq;
  try {
    to = request.to;
    cseq = request.cseq;
  } catch {
    return reply(400, 'Bad To or CSeq');
  }
  if (to === undefined) return reply(400, 'Missing To');
  const callId = request.callId?.trim();
  if (callId === undefined || callId.length === 0) return reply(400, 'Missing Call-ID');
  if (cseq === undefined) return reply(400, 'Missing CSeq');
  if (cseq.method !== 'REGISTER') return reply(400, 'CSeq Method Mismatch');

  // Step 5: the AOR is the To URI in canonical form, and must belong to a served domain.
  const aor = toAor(to.uri);
  if (aor === undefined) return reply(404, 'Not Found');
  const host = aor.slice(aor.lastIndexOf('@') + 1).replace(/^sips?:/, '');
  if (!serves(host)) return reply(404, 'Not Found');

  try {
    contacts = request.contacts;
  } catch {
    return reply(400, 'Bad Contact');
  }
  if (contacts.length === 0) return { kind: 'query', aor };

  let headerExpires: number | undefined;
  const expiresText = request.getHeader('expires');
  if (expiresText !== undefined) {
    const t = expiresText.trim();
    if (!/^\d{1,20}$/.test(t)) return reply(400, 'Bad Expires');
    headerExpires = Math.min(Number(t), MAX_DELTA);
  }

  // Step 6: `*` must stand alone and come with Expires: 0.
  if (contacts.some((c) => c.star)) {
    if (contacts.length !== 1) return reply(400, 'Contact * Must Be Alone');
    if (headerExpires !== 0) return reply(400, 'Contact * Requires Expires: 0');
    return { kind: 'remove-all', aor, callId, cseq: cseq.seq };
  }

  // Step 7: per-contact expires over the Expires header over the default; too brief is 423.
  const updates: ContactUpdate[] = [];
  for (const c of contacts) {
    const asked = c.expires ?? headerExpires ?? policy.defaultExpires;
    if (asked > 0 && asked < policy.minExpires) return reply(423, 'Interval Too Brief', [['Min-Expires', String(policy.minExpires)]]);
    const update: ContactUpdate = { contact: c.uri, expires: Math.min(asked, policy.maxExpires) };
    if (c.q !== undefined) update.q = c.q;
    const params = otherParams(c);
    if (params !== undefined) update.params = params;
    updates.push(update);
  }
  return { kind: 'update', aor, callId, cseq: cseq.seq, updates };
}

function sameContact(a: string, b: string): boolean {
  return a === b || sipUriEquals(a, b);
}

/**
 * RFC 5626 §6: a REGISTER with the `+sip.instance` and `reg-id` of a binding replaces that
 * binding (the client re-registered over a new flow, usually with a new Contact).
 */
function sameFlowIdentity(a: Binding['params'], b: Binding['params']): boolean {
  const instance = a?.['+sip.instance'];
  const regId = a?.['reg-id'];
  return instance !== undefined && regId !== undefined && instance === b?.['+sip.instance'] && regId === b?.['reg-id'];
}

/**
 * The RFC 3261 §10.3 step 7 ordering rule for one existing binding: may this request change it?
 * `stale` aborts the whole request; `retransmission` (same Call-ID and CSeq) leaves the binding
 * as it is and lets the request succeed — a stateless registrar sees UDP retransmissions that
 * a transaction layer would have absorbed (§17.2.1).
 */
function ordering(binding: Binding, callId: string, cseq: number): 'change' | 'retransmission' | 'stale' {
  if (binding.callId !== callId) return 'change';
  if (cseq > binding.cseq) return 'change';
  return cseq === binding.cseq ? 'retransmission' : 'stale';
}

/** Context of {@link applyRegister}. */
export interface ApplyContext {
  now: number;
  policy: RegisterPolicy;
  source?: BindingSource;
}

/**
 * Merges a REGISTER into the live bindings of its AOR (merge, not replace): new contacts are
 * added, known ones refreshed or (expires 0) removed, others kept. Any binding with the same
 * Call-ID and a higher CSeq aborts the whole request with 500 (the RFC says only that it
 * "fails"; 500 is what §12.2.2 answers to an out-of-order CSeq in a dialog).
 *
 * @see RFC 3261 §10.3 step 7
 */
export function applyRegister(
  intent: Exclude<RegisterIntent, { kind: 'query' }>,
  current: readonly Binding[],
  context: ApplyContext,
): { kind: 'save'; bindings: Binding[] } | RegisterReply {
  const { callId, cseq } = intent;
  const stale = (): RegisterReply => reply(500, 'Out Of Order CSeq');
  if (intent.kind === 'remove-all') {
    const kept: Binding[] = [];
    for (const b of current) {
      const o = ordering(b, callId, cseq);
      if (o === 'stale') return stale();
      if (o === 'retransmission') kept.push(b);
    }
    return { kind: 'save', bindings: kept };
  }
  const next = current.slice();
  for (const u of intent.updates) {
    const at = next.findIndex((b) => sameContact(b.contact, u.contact) || sameFlowIdentity(b.params, u.params));
    if (at !== -1) {
      const o = ordering(next[at] as Binding, callId, cseq);
      if (o === 'stale') return stale();
      if (o === 'retransmission') continue;
      next.splice(at, 1);
    }
    if (u.expires === 0) continue;
    const binding: Binding = { contact: u.contact, expires: context.now + u.expires * 1000, callId, cseq, updated: context.now };
    if (u.q !== undefined) binding.q = u.q;
    if (u.params !== undefined) binding.params = u.params;
    if (context.source !== undefined) binding.source = context.source;
    next.push(binding);
  }
  if (next.length > context.policy.maxBindings && next.length > current.length) {
    return reply(403, 'Too Many Bindings');
  }
  return { kind: 'save', bindings: next };
}
