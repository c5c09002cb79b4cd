/**
 * Stateless Via branches (RFC 3261 §16.11): the same request — a retransmission, or the CANCEL
 * and the non-2xx ACK of an INVITE — gets the same branch; a new transaction gets another one.
 */
import type { SipRequest } from '@sipway/sip-message';
import { hash64 } from './hash64.js';
import { md5 } from './md5.js';

/** Which formula computes the branch of the Via the proxy inserts. */
export type BranchFormula = 'rfc' | 'netsip';


/**
 * The loop-detection part (16 hex): what a looping request keeps while a spiral changes it —
 * the Request-URI as received, the Route set left after our own entries went, From tag,
 * Call-ID, CSeq number and Proxy-Require. No Via (it changes every hop) and no To tag (a
 * non-2xx ACK has one, its INVITE had none).
 * @see RFC 3261 §16.3 step 4, §16.6 step 8; RFC 5393 §4.2
 */
export function loopHash(request: SipRequest, receivedUri: string): string {
  // Concatenated, not joined from an array: this runs for every request.
  return hash64(
    `${receivedUri}\n${joined(request.getHeaders('route'))}\n${request.from?.tag ?? ''}\n${request.callId ?? ''}\n${request.cseq?.seq ?? ''}\n${joined(request.getHeaders('proxy-require'))}`,
  );
}

function joined(values: readonly string[]): string {
  return values.length === 0 ? '' : values.length === 1 ? values[0]! : values.join(',');
}

/**
 * sipway's branch: `<leg base><16 hex transaction part><16 hex loop part>`. The transaction part
 * covers the top Via's branch (the client transaction, RFC 3261 §17.2.3; the whole top Via
 * when it has no RFC 3261 branch), Call-ID and CSeq number — never the method, so a CANCEL and
 * a non-2xx ACK share the INVITE's branch.
 */
export function rfcBranch(base: string, request: SipRequest, loop: string): string {
  const top = request.topVia;
  const clientBranch = top?.branch?.startsWith('z9hG4bK') === true ? top.branch : (request.getHeader('via') ?? '');
  const tx = hash64(`${clientBranch}\n${request.callId ?? ''}\n${request.cseq?.seq ?? ''}`);
  return `${base}${tx}${loop}`;
}

/** The 16-hex loop part of a branch made by {@link rfcBranch} for a leg with this base. */
export function loopPartOf(branch: string, base: string): string | undefined {
  return branch.length === base.length + 32 && branch.startsWith(base) ? branch.slice(base.length + 16) : undefined;
}

/**
 * Net::SIP's level-3 branch (`Leg::via_branch(packet, 3)`): base + md5(Call-ID " " CSeq
 * number)[0..15] + md5(constant Proxy-Authorization fields, top Via branch, sorted
 * Proxy-Require, Route values, From, Request-URI)[0..15]. Reproduces Net::SIP's branches byte
 * for byte (69 characters).
 */
export function netSipBranch(base: string, request: SipRequest): string {
  const tid = `${request.callId ?? ''} ${request.cseq?.seq ?? ''}`;
  let data = '';
  for (const auth of [...request.getHeaders('proxy-authorization')].sort()) {
    const sp = auth.indexOf(' ');
    const scheme = sp === -1 ? auth : auth.slice(0, sp);
    data += scheme;
    const params = parseAuthParams(sp === -1 ? '' : auth.slice(sp + 1));
    for (const name of ['realm', 'username', 'domain', 'qop', 'algorithm']) {
      const v = params.get(name);
      if (v !== undefined) data += `${name}=${v}`;
    }
  }
  const top = request.topVia;
  data += top?.branch ?? request.getHeader('via') ?? '';
  data += [...request.getHeaders('proxy-require')].sort().join('');
  data += request.getHeaders('route').join('');
  data += request.getHeaders('from').join('');
  data += request.uri;
  return `${base}${md5(tid).slice(0, 15)}${md5(data).slice(0, 15)}`;
}

function parseAuthParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,]*)\s*,?/g;
  for (let m = re.exec(text); m !== null && m[0].length > 0; m = re.exec(text)) {
    const name = (m[1] ?? '').toLowerCase();
    let value = (m[2] ?? '').trim();
    if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    out.set(name, value);
  }
  return out;
}
