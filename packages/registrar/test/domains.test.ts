import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import type { SipRequest } from '@sipway/sip-message';
import { createDomainMatcher, RegistrarOptionsError } from '../src/index.js';
import { registerText, setup } from './helpers.js';
import type { Setup } from './helpers.js';

describe('createDomainMatcher', () => {
  it('exact names match case-insensitively and nothing else', () => {
    const m = createDomainMatcher(['Example.COM']);
    expect(m('example.com')).toBe(true);
    expect(m('EXAMPLE.com')).toBe(true);
    expect(m('a.example.com')).toBe(false);
    expect(m('badexample.com')).toBe(false);
    expect(m('example.com.evil')).toBe(false);
  });

  it('*.suffix matches subdomains at a dot boundary only (Net::SIP matches badexample.com)', () => {
    const m = createDomainMatcher(['*.example.com']);
    expect(m('a.example.com')).toBe(true);
    expect(m('x.y.Example.com')).toBe(true);
    expect(m('example.com')).toBe(false);
    expect(m('badexample.com')).toBe(false);
    expect(m('.example.com')).toBe(false);
  });

  it('* matches any host; IP literals are exact, IPv6 with or without brackets', () => {
    expect(createDomainMatcher(['*'])('anything.test')).toBe(true);
    const m = createDomainMatcher(['192.0.2.1', '[2001:DB8::1]']);
    expect(m('192.0.2.1')).toBe(true);
    expect(m('192.0.2.10')).toBe(false);
    expect(m('2001:db8::1')).toBe(true);
    expect(m('[2001:db8::1]')).toBe(true);
  });

  it('rejects empty lists and malformed patterns at construction', () => {
    expect(() => createDomainMatcher([])).toThrow(RegistrarOptionsError);
    for (const bad of ['', '*example.com', 'a.*.b', 'exa mple.com', '*.']) {
      expect(() => createDomainMatcher([bad]), bad).toThrow(RegistrarOptionsError);
    }
  });
});

describe('served domains in the registrar (RFC 3261 §10.3 steps 1 and 5)', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup({ domains: ['example.com', '*.corp.example.net'] });
  });
  afterEach(() => s.close());

  const info = () => ({ source: { transport: 'udp' as const, address: '10.0.0.2', port: 5060, family: 4 as const }, leg: s.serverLeg });

  it('a REGISTER whose Request-URI names a foreign domain is not taken (false) and not answered', async () => {
    const req = parseMessage(registerText({ uri: 'sip:other.org', to: 'sip:alice@other.org', contacts: ['<sip:a@10.0.0.2>'] }, '10.0.0.2:5060', { callId: 'x', cseq: 1 }));
    const before = s.net.packets.length;
    expect(s.registrar.receive(req, info())).toBe(false);
    await s.net.settle();
    expect(s.net.packets.length).toBe(before);
    expect(await s.registrar.knows('sip:alice@other.org')).toBe(false);
  });

  it('non-REGISTER requests and responses are not taken', () => {
    const invite = parseMessage(registerText({ method: 'INVITE', uri: 'sip:alice@example.com' }, '10.0.0.2:5060', { callId: 'x', cseq: 1 }));
    expect(s.registrar.receive(invite, info())).toBe(false);
    const response = parseMessage('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nContent-Length: 0\r\n\r\n');
    expect(s.registrar.receive(response, info())).toBe(false);
  });

  it('a REGISTER for a served domain resolves to true once answered', async () => {
    const req = parseMessage(registerText({ contacts: ['<sip:a@10.0.0.2>'] }, '10.0.0.2:5060', { callId: 'x', cseq: 1 })) as SipRequest;
    await expect(s.registrar.receive(req, info())).resolves.toBe(true);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
  });

  it('subdomains through *.suffix; the Request-URI host is compared without port or case', async () => {
    const res = await s.register({ uri: 'sip:PBX.Corp.Example.NET:5060', to: 'sip:bob@pbx.corp.example.net', contacts: ['<sip:bob@10.0.0.2>'] });
    expect(res.status).toBe(200);
    expect(await s.registrar.lookup('sip:bob@pbx.corp.example.net')).toHaveLength(1);
  });

  it('a served Request-URI with a To in a foreign domain is 404 (step 5: AOR not valid for the domain)', async () => {
    const res = await s.register({ to: 'sip:alice@other.org', contacts: ['<sip:a@10.0.0.2>'] });
    expect(res.status).toBe(404);
    expect(await s.registrar.knows('sip:alice@other.org')).toBe(false);
  });

  it('a To that is not a SIP URI is 404; a malformed To is 400', async () => {
    expect((await s.register({ to: 'tel:+15551234', contacts: ['<sip:a@10.0.0.2>'] })).status).toBe(404);
    const res = await s.send(
      registerText({ contacts: ['<sip:a@10.0.0.2>'] }, '10.0.0.2:5060', { callId: 'x', cseq: 1 }).replace('To: <sip:alice@example.com>', 'To: <sip:alice@example.com'),
    );
    expect(res.status).toBe(400);
  });
});
