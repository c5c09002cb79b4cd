import { afterEach, describe, expect, it } from 'vitest';
import type { SipMessage } from '@sipway/sip-message';
import { harness, msg, unsigned } from './helpers.js';
import type { Harness } from './helpers.js';

// The two-leg golden trace of the reference (§1.6): legs A = 127.0.0.1:15060 (towards the UAC)
// and B = 127.0.0.2:15060 (towards the UAS), UAC 127.0.0.1:16000, UAS 127.0.0.3:17000. Legs
// only deliver to their side, as Net::SIP's TestLeg.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const UAC_INVITE = msg(
  'INVITE sip:bob@127.0.0.3:17000 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport',
  'Max-Forwards: 70',
  'From: "Alice" <sip:alice@example.com>;tag=111',
  'To: <sip:bob@example.com>',
  'Call-ID: call1@127.0.0.1',
  'CSeq: 1 INVITE',
  'Contact: "Alice" <sip:alice@127.0.0.1:16000;transport=udp>;expires=60;+sip.instance="<urn:uuid:1234>"',
  'Content-Type: application/sdp',
);

function answer(request: SipMessage, status: string, extra: string[]): string {
  return msg(
    `SIP/2.0 ${status}`,
    ...request.getHeaders('via').map((v) => `Via: ${v}`),
    ...request.getHeaders('record-route').map((v) => `Record-Route: ${v}`),
    `From: ${request.getHeader('from')}`,
    `To: ${request.getHeader('to')}${request.to?.tag === undefined ? ';tag=222' : ''}`,
    `Call-ID: ${request.callId}`,
    `CSeq: ${request.getHeader('cseq')}`,
    ...extra,
  );
}

const NETSIP_VIA_B = 'SIP/2.0/UDP 127.0.0.2:15060;branch=z9hG4bK8d4096abd190082f6dbe5564389ec95d7da49f6bd3878489adc1c6fd5cdb7f';
const NETSIP_VIA_A = 'SIP/2.0/UDP 127.0.0.1:15060;branch=z9hG4bK98da7c61a21a8019a54fc2f5dd2913a57da49f6bd387848f9b9a24dccb326d';

describe.each(['netsip', 'rfc'] as const)('two legs, golden trace structure (branchFormula %s)', (branchFormula) => {
  it('INVITE/200/ACK/BYE/200 across the legs with Contacts rewritten and restored', async () => {
    h = await harness(
      [
        { address: '127.0.0.1', port: 15060, peers: ['127.0.0.1'] },
        { address: '127.0.0.2', port: 15060, peers: ['127.0.0.3'] },
      ],
      { domains: ['example.com'], branchFormula, relayAllow: ['127.0.0.1/32'] },
    );
    const [legA, legB] = h.legs as [typeof h.legs[0], typeof h.legs[0]];
    const uac = await h.peer('127.0.0.1', 16000);
    const uas = await h.peer('127.0.0.3', 17000);

    // INVITE: UAC → A → B → UAS
    await uac.send(UAC_INVITE, legA);
    const inv = await uas.waitFor(0);
    if (!inv.isRequest) throw new Error('expected a request');
    expect(inv.uri).toBe('sip:bob@127.0.0.3:17000');
    const top = inv.headers.slice(0, 5).map((x) => `${x.name}: ${unsigned(x.value)}`);
    expect(top.map((l) => l.split(':')[0])).toEqual(['Via', 'Record-Route', 'Via', 'Record-Route', 'Via']);
    expect(top[1]).toBe('Record-Route: <sip:127.0.0.2:15060;lr>');
    expect(top[3]).toBe('Record-Route: <sip:127.0.0.1:15060;lr>');
    expect(top[4]).toBe('Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport=16000;received=127.0.0.1');
    if (branchFormula === 'netsip') {
      // Byte-identical to Net::SIP's branches (md5 formula, reference §3.2).
      expect(top[0]).toBe(`Via: ${NETSIP_VIA_B}`);
      expect(top[2]).toBe(`Via: ${NETSIP_VIA_A}`);
    } else {
      expect(top[0]).toMatch(new RegExp(`^Via: SIP/2.0/UDP 127.0.0.2:15060;branch=${legB.branchBase}[0-9a-f]{32}$`));
      expect(top[2]).toMatch(new RegExp(`^Via: SIP/2.0/UDP 127.0.0.1:15060;branch=${legA.branchBase}[0-9a-f]{32}$`));
    }
    expect(inv.getHeader('max-forwards')).toBe('69');
    const rewritten = inv.getHeader('contact') ?? '';
    expect(rewritten).toMatch(/^"Alice" <sip:s[A-Z2-7]+@127\.0\.0\.2:15060>;expires=60;\+sip\.instance="<urn:uuid:1234>"$/);
    const uacToken = /<(sip:[^>]+)>/.exec(rewritten)![1]!;

    // 200: UAS → B → A → UAC, our two Vias gone, Contact rewritten towards A.
    await uas.send(answer(inv, '200 OK', ['Contact: <sip:bob@127.0.0.3:17000>']), legB);
    const ok = await uac.waitFor(0);
    expect(ok.isRequest).toBe(false);
    expect(ok.getHeaders('via')).toEqual(['SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport=16000;received=127.0.0.1']);
    expect(ok.getHeaders('record-route').map(unsigned)).toEqual(['<sip:127.0.0.2:15060;lr>', '<sip:127.0.0.1:15060;lr>']);
    const uasContact = ok.getHeader('contact') ?? '';
    expect(uasContact).toMatch(/^<sip:s[A-Z2-7]+@127\.0\.0\.1:15060>$/);
    const uasToken = uasContact.slice(1, -1);

    // ACK: UAC → A with the route set; the UAS gets the original target, no Route.
    await uac.send(
      msg(
        `ACK ${uasToken} SIP/2.0`,
        'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac2;rport',
        'Max-Forwards: 70',
        'Route: <sip:127.0.0.1:15060;lr>, <sip:127.0.0.2:15060;lr>',
        'From: "Alice" <sip:alice@example.com>;tag=111',
        'To: <sip:bob@example.com>;tag=222',
        'Call-ID: call1@127.0.0.1',
        'CSeq: 1 ACK',
      ),
      legA,
    );
    const ack = await uas.waitFor(1);
    expect(ack.isRequest && ack.method).toBe('ACK');
    expect(ack.isRequest && ack.uri).toBe('sip:bob@127.0.0.3:17000');
    expect(ack.hasHeader('route')).toBe(false);
    expect(ack.getHeaders('via')).toHaveLength(3);
    expect(ack.getHeaders('record-route').map(unsigned)).toEqual(['<sip:127.0.0.2:15060;lr>', '<sip:127.0.0.1:15060;lr>']);
    expect(ack.getHeader('max-forwards')).toBe('69');

    // BYE from the UAS to the UAC's token: reaches the UAC with the original Request-URI.
    await uas.send(
      msg(
        `BYE ${uacToken} SIP/2.0`,
        'Via: SIP/2.0/UDP 127.0.0.3:17000;branch=z9hG4bKuas1',
        'Max-Forwards: 70',
        'Route: <sip:127.0.0.2:15060;lr>, <sip:127.0.0.1:15060;lr>',
        'From: <sip:bob@example.com>;tag=222',
        'To: "Alice" <sip:alice@example.com>;tag=111',
        'Call-ID: call1@127.0.0.1',
        'CSeq: 1 BYE',
      ),
      legB,
    );
    const bye = await uac.waitFor(1);
    expect(bye.isRequest && bye.uri).toBe('sip:alice@127.0.0.1:16000;transport=udp');
    expect(bye.hasHeader('route')).toBe(false);
    expect(bye.getHeaders('via').map((v) => v.split(';')[0])).toEqual([
      'SIP/2.0/UDP 127.0.0.1:15060',
      'SIP/2.0/UDP 127.0.0.2:15060',
      'SIP/2.0/UDP 127.0.0.3:17000',
    ]);

    // 200 to the BYE goes back to the UAS.
    await uac.send(answer(bye, '200 OK', []), legA);
    const byeOk = await uas.waitFor(2);
    expect(!byeOk.isRequest && byeOk.status).toBe(200);
    expect(byeOk.getHeaders('via')).toEqual(['SIP/2.0/UDP 127.0.0.3:17000;branch=z9hG4bKuas1']);
  });
});

describe('two legs, Net::SIP byte layout (netSipUaHeaders, branchFormula netsip)', () => {
  it('the UAS receives the golden INVITE head: Supported, Allow, Via, Record-Route, Via, Record-Route, Via', async () => {
    h = await harness(
      [
        { address: '127.0.0.1', port: 15060, peers: ['127.0.0.1'] },
        { address: '127.0.0.2', port: 15060, peers: ['127.0.0.3'] },
      ],
      { domains: ['example.com'], branchFormula: 'netsip', netSipUaHeaders: true, relayAllow: ['127.0.0.1/32'] },
    );
    const uac = await h.peer('127.0.0.1', 16000);
    const uas = await h.peer('127.0.0.3', 17000);
    await uac.send(UAC_INVITE, h.legs[0]!);
    const inv = await uas.waitFor(0);
    expect(inv.headers.slice(0, 7).map((x) => `${x.name}: ${unsigned(x.value)}`)).toEqual([
      'Supported: ',
      'Allow: INVITE, ACK, OPTIONS, CANCEL, BYE',
      `Via: ${NETSIP_VIA_B}`,
      'Record-Route: <sip:127.0.0.2:15060;lr>',
      `Via: ${NETSIP_VIA_A}`,
      'Record-Route: <sip:127.0.0.1:15060;lr>',
      'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport=16000;received=127.0.0.1',
    ]);
    // A 200 without Contact gets one built from the To user and the leg (Net::SIP §3.5).
    await uas.send(answer(inv, '200 OK', []), h.legs[1]!);
    const ok = await uac.waitFor(0);
    expect(ok.getHeader('contact')).toBe('sip:bob@127.0.0.1:15060');
    expect(ok.getHeaders('allow')).toEqual(['INVITE', 'ACK', 'OPTIONS', 'CANCEL', 'BYE']);
  });
});

describe('two legs, other cases', () => {
  it('the same BYE without a Route set still reaches the UAC through its token', async () => {
    h = await harness(
      [
        { address: '127.0.0.1', port: 15060, peers: ['127.0.0.1'] },
        { address: '127.0.0.2', port: 15060, peers: ['127.0.0.3'] },
      ],
      { domains: ['example.com'], relayAllow: ['127.0.0.1/32'] },
    );
    const [legA, legB] = h.legs as [typeof h.legs[0], typeof h.legs[0]];
    const uac = await h.peer('127.0.0.1', 16000);
    const uas = await h.peer('127.0.0.3', 17000);
    await uac.send(UAC_INVITE, legA);
    const inv = await uas.waitFor(0);
    const token = /<(sip:[^>]+)>/.exec(inv.getHeader('contact') ?? '')![1]!;
    await uas.send(
      msg(
        `BYE ${token} SIP/2.0`,
        'Via: SIP/2.0/UDP 127.0.0.3:17000;branch=z9hG4bKuas9',
        'From: <sip:bob@example.com>;tag=222',
        'To: <sip:alice@example.com>;tag=111',
        'Call-ID: call1@127.0.0.1',
        'CSeq: 2 BYE',
      ),
      legB,
    );
    const bye = await uac.waitFor(0);
    expect(bye.isRequest && bye.uri).toBe('sip:alice@127.0.0.1:16000;transport=udp');
  });

  it('REGISTER to an upstream registrar: Contact tokenised on the way out, restored in the 200 list', async () => {
    h = await harness(
      [
        { address: '127.0.0.1', port: 15060, peers: ['127.0.0.1'] },
        { address: '127.0.0.2', port: 15060, peers: ['127.0.0.3'] },
      ],
      { domains: ['example.com'], relayAllow: ['127.0.0.1/32'] },
    );
    const [legA, legB] = h.legs as [typeof h.legs[0], typeof h.legs[0]];
    const ua = await h.peer('127.0.0.1', 16000);
    const registrar = await h.peer('127.0.0.3', 17000);
    await ua.send(
      msg(
        'REGISTER sip:127.0.0.3:17000 SIP/2.0',
        'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKr1;rport',
        'Max-Forwards: 70',
        'From: <sip:alice@example.com>;tag=r',
        'To: <sip:alice@example.com>',
        'Call-ID: reg@x',
        'CSeq: 1 REGISTER',
        'Contact: <sip:alice@127.0.0.1:16000>;expires=60',
      ),
      legA,
    );
    const reg = await registrar.waitFor(0);
    expect(reg.hasHeader('record-route')).toBe(false);
    expect(reg.getHeaders('via')).toHaveLength(3);
    const stored = reg.getHeader('contact') ?? '';
    expect(stored).toMatch(/^<sip:s[A-Z2-7]+@127\.0\.0\.2:15060>;expires=60$/);
    await registrar.send(answer(reg, '200 OK', [`Contact: ${stored}`, 'Contact: <sip:other@192.0.2.9>;expires=30']), legB);
    const ok = await ua.waitFor(0);
    // Our token comes back as the original; a foreign binding in the list is tokenised towards A.
    expect(ok.getHeaders('contact')[0]).toBe('<sip:alice@127.0.0.1:16000>;expires=60');
    expect(ok.getHeaders('contact')[1]).toMatch(/^<sip:s[A-Z2-7]+@127\.0\.0\.1:15060>;expires=30$/);
  });

  it('a token arriving on the wrong leg is not restored (and is not forwarded to ourselves)', async () => {
    h = await harness(
      [
        { address: '127.0.0.1', port: 15060, peers: ['127.0.0.1'] },
        { address: '127.0.0.2', port: 15060, peers: ['127.0.0.3'] },
      ],
      { domains: ['example.com'], relayAllow: ['127.0.0.1/32'] },
    );
    const [legA] = h.legs as [typeof h.legs[0]];
    const uac = await h.peer('127.0.0.1', 16000);
    const uas = await h.peer('127.0.0.3', 17000);
    await uac.send(UAC_INVITE, legA);
    const inv = await uas.waitFor(0);
    const token = /<sip:([^@]+)@/.exec(inv.getHeader('contact') ?? '')![1]!;
    // The token went out on B; coming back on A it does not decode and names the proxy: a self-loop.
    await uac.send(msg(`BYE sip:${token}@127.0.0.1:15060 SIP/2.0`, 'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKx', 'From: <sip:alice@example.com>;tag=111', 'To: <sip:bob@example.com>;tag=2', 'Call-ID: call1@127.0.0.1', 'CSeq: 3 BYE'), legA);
    const outcome = await h.settled(2);
    expect(outcome).toMatchObject({ ok: false, status: 482, code: 'loop-detected' });
  });
});
