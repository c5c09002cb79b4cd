/** RFC 3261 §16.3: request validation — syntax and scheme, Max-Forwards, loops, Proxy-Require. */
import { parseVia, statelessToTag, validateMessage } from '@sipway/sip-message';
import { loopHash, loopPartOf } from '../branch.js';
import { branchBaseOf } from '../md5.js';
import { type ProxyCore, type Refusal, type RequestContext, refusal } from './context.js';

const ANSWERED_OPTIONS = (): Refusal => refusal(200, 'OK', 'answered-options', 'OPTIONS answered by the proxy');

/** An OPTIONS for the proxy itself is answered 200 (§16.3 step 3, §11). */
export function answerOptions(): Refusal {
  return ANSWERED_OPTIONS();
}

/** §16.3 steps 1–2, 3 and 5: syntax, mandatory headers, URI scheme; the ACK of our own answer; Max-Forwards; Proxy-Require. */
export function checkRequest(core: ProxyCore, ctx: RequestContext): Refusal | undefined {
  const { request } = ctx;
  const problems = validateMessage(request);
  if (problems.length > 0) {
    const p = problems.find((x) => x.status === 505) ?? problems.find((x) => x.status === 416) ?? problems[0]!;
    return refusal(p.status, p.reason, p.status === 416 ? 'unsupported-scheme' : 'invalid-message', p.message);
  }
  ctx.toTag = request.to?.tag;

  // The ACK of an error this proxy answered itself carries the To tag it made (same From tag,
  // Call-ID and CSeq number as the request, RFC 3261 §17.1.1.3): that transaction ended here,
  // so the ACK does too, instead of travelling on to the callee.
  if (request.method === 'ACK' && ctx.toTag !== undefined && ctx.toTag === statelessToTag(request)) {
    return refusal(200, 'OK', 'own-ack', 'ACK of an answer of this proxy', { drop: true });
  }

  // §16.3 step 3 / §16.6 step 3: Max-Forwards.
  ctx.mfPresent = request.hasHeader('max-forwards');
  const mf = ctx.mfPresent ? request.maxForwards : undefined;
  if (core.netSipMaxForwards) {
    // Net::SIP Leg::forward_incoming: 0, absent and > cap all count as the cap.
    const v = (mf === undefined || mf === 0 || mf > core.cap ? core.cap : mf) - 1;
    if (v <= 0) return refusal(483, 'Too Many Hops', 'too-many-hops', 'Max-Forwards exhausted');
    ctx.newMf = v;
  } else if (mf === undefined) {
    ctx.newMf = Math.min(70, core.cap);
  } else if (mf === 0) {
    if (request.method === 'OPTIONS' && core.answerOptions) return ANSWERED_OPTIONS();
    return refusal(483, 'Too Many Hops', 'too-many-hops', 'Max-Forwards is 0');
  } else {
    ctx.newMf = Math.min(mf, core.cap) - 1;
  }

  // §16.3 step 5: Proxy-Require.
  const required = request.getHeaders('proxy-require').flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t.length > 0);
  const unsupported = required.filter((t) => !core.supported.has(t.toLowerCase()));
  if (unsupported.length > 0) {
    return refusal(420, 'Bad Extension', 'bad-extension', `unsupported ${unsupported.join(', ')}`, { headers: [['Unsupported', unsupported.join(', ')]] });
  }
  return undefined;
}

/** §16.3 step 4: a Via of ours with the same loop part means this request was here before. */
export function detectLoop(core: ProxyCore, ctx: RequestContext): Refusal | undefined {
  const loop = loopHash(ctx.request, ctx.receivedUri);
  ctx.loop = loop;
  if (core.formula !== 'rfc') return undefined;
  // Only a Via holding the loop hash can match: a substring test spares parsing the others.
  for (const raw of ctx.request.getHeaders('via')) {
    if (!raw.includes(loop)) continue;
    let branch: string | undefined;
    try {
      branch = parseVia(raw).branch;
    } catch {
      continue;
    }
    if (branch === undefined) continue;
    if (ctx.legs.some((leg) => loopPartOf(branch, branchBaseOf(leg)) === loop)) {
      return refusal(482, 'Loop Detected', 'loop-detected', 'request already passed this proxy');
    }
  }
  return undefined;
}
