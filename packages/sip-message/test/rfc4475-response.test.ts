// Answering the RFC 4475 requests (RFC 3261 §8.2.6): a UAS or proxy builds its response from
// the torture request itself, so createResponse must copy Via, From, To, Call-ID and CSeq
// exactly (folding, odd spacing and non-ASCII octets included), add a To tag only when there is
// none, and work on the malformed requests that validateMessage refuses — those are the ones a
// proxy answers with 400/416/505.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createResponse, isRequest, parseMessage, serializeMessage, validateMessage, type SipRequest } from '../src/index.js';

const dir = new URL('./fixtures/rfc4475/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
  messages: Record<string, { valid: boolean; status?: number[] }>;
};
const requests: Array<[string, SipRequest, boolean]> = [];
for (const [name, e] of Object.entries(manifest.messages)) {
  let m;
  try {
    m = parseMessage(readFileSync(new URL(`${name}.dat`, dir)));
  } catch {
    continue;
  }
  if (isRequest(m)) requests.push([name, m, e.valid]);
}

describe('createResponse on RFC 4475 requests', () => {
  it('has the parseable requests', () => {
    expect(requests.length).toBeGreaterThanOrEqual(35);
  });

  it.each(requests.filter(([, , valid]) => valid))('%s: a 200 copies Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2)', (_name, req) => {
    const res = createResponse(req, 200, undefined, { toTag: 'resp-tag' });
    expect(res.status).toBe(200);
    expect(res.getHeaders('via')).toEqual(req.getHeaders('via'));
    expect(res.getHeader('from')).toBe(req.getHeader('from'));
    expect(res.getHeader('call-id')).toBe(req.getHeader('call-id'));
    expect(res.getHeader('cseq')).toBe(req.getHeader('cseq'));
    if (req.hasHeader('to')) {
      const toTag = req.to?.tag;
      expect(res.to?.tag).toBe(toTag ?? 'resp-tag');
      expect(res.getHeader('to')?.startsWith(req.getHeader('to')!)).toBe(true);
    }
    const again = parseMessage(serializeMessage(res));
    expect(again.headers).toEqual(res.headers);
  });

  it.each(requests.filter(([, , valid]) => !valid))('%s: the refusal itself can be answered', (_name, req) => {
    const problems = validateMessage(req);
    if (problems.length === 0) return;
    const p = problems[0]!;
    const res = createResponse(req, p.status, p.reason, { toTag: 'x' });
    expect([res.status, res.reason]).toEqual([p.status, p.reason]);
    expect(res.getHeaders('via')).toEqual(req.getHeaders('via'));
    expect(Buffer.from(serializeMessage(res)).toString('latin1')).toMatch(new RegExp(`^SIP/2\\.0 ${p.status} `));
  });

  it('intmeth: the From header with UTF-8 octets goes back unchanged, byte for byte', () => {
    const req = requests.find(([n]) => n === 'intmeth')![1];
    const res = createResponse(req, 501);
    const reqBytes = Buffer.from(serializeMessage(req));
    const resBytes = Buffer.from(serializeMessage(res));
    const fromLine = (b: Buffer): Buffer => {
      const i = b.indexOf('\r\nFrom: ');
      return b.subarray(i + 2, b.indexOf('\r\n', i + 2));
    };
    expect(fromLine(resBytes).equals(fromLine(reqBytes))).toBe(true);
    expect(res.from?.tag).toBe("_token~1'+`*%!-.");
  });

  it('wsinv: folded Vias come back as the same three Vias', () => {
    const req = requests.find(([n]) => n === 'wsinv')![1];
    const res = createResponse(req, 180, undefined, { toTag: 'ignored' });
    expect(res.via.map((v) => [v.transport, v.host, v.branch])).toEqual(req.via.map((v) => [v.transport, v.host, v.branch]));
    expect(res.to?.tag).toBe('1918181833n');
  });
});
