import { afterEach, describe, expect, it } from 'vitest';
import { harness, invite, msg, unsigned } from './helpers.js';
import type { Harness } from './helpers.js';

// Response path: RFC 3261 §16.7 as far as a stateless proxy goes, §16.11, §18.2.2, RFC 3581;
// RFC 4475 bcast. Leg 127.0.0.1:15070.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function response(status: string, vias: string[], extra: string[] = []): string {
  return msg(
    `SIP/2.0 ${status}`,
    ...vias.map((v) => `Via: ${v}`),
    'From: <sip:alice@example.com>;tag=111',
    'To: <sip:bob@example.com>;tag=222',
    'Call-ID: resp1',
    'CSeq: 1 INVITE',
    ...extra,
  );
}

async function setup() {
  h = await harness([{ address: '127.0.0.1', port: 15070 }], { openRelay: true });
  const uac = await h.peer('127.0.0.1', 16000);
  const uas = await h.peer('127.0.0.5', 17001);
  return { h, uac, uas, leg: h.legs[0]! };
}

describe('responses', () => {
  it('a response to a request we forwarded goes back to the client, our Via removed, Contact untouched', async () => {
    const { uac, uas, leg } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000'), leg);
    const inv = await uas.waitFor(0);
    await uas.send(response('180 Ringing', inv.getHeaders('via'), ['Contact: <sip:carol@127.0.0.5:17001>']), leg);
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(180);
    expect(got.getHeaders('via')).toEqual(['SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport=16000;received=127.0.0.1']);
    expect(got.getHeader('contact')).toBe('<sip:carol@127.0.0.5:17001>');
  });

  it('sends to received and rport, not to sent-by (RFC 3581 §4)', async () => {
    const { uac, uas, leg } = await setup();
    const ours = leg.via(`${leg.branchBase}0123456789abcdef0123456789abcdef`);
    await uas.send(response('200 OK', [ours, 'SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bKx;received=127.0.0.1;rport=16000']), leg);
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(200);
  });

  it('forwards every class 1xx–6xx', async () => {
    const { uac, uas, leg } = await setup();
    const statuses = ['100 Trying', '183 Session Progress', '200 OK', '302 Moved Temporarily', '486 Busy Here', '503 Service Unavailable', '603 Decline'];
    for (const [i, s] of statuses.entries()) {
      const ours = leg.via(`${leg.branchBase}${String(i).padStart(32, '0')}`);
      await uas.send(response(s, [ours, 'SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1']), leg);
      await uac.waitFor(i);
    }
    expect(uac.inbox.map((m) => (m.isRequest ? 0 : m.status))).toEqual([100, 183, 200, 302, 486, 503, 603]);
  });

  it('drops a response whose top Via is not ours', async () => {
    const { h, uac, uas, leg } = await setup();
    await uas.send(response('200 OK', ['SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bKother', 'SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1']), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, code: 'not-our-response' });
    expect(uac.inbox).toHaveLength(0);
  });

  it('drops a response with only our Via (nowhere to go)', async () => {
    const { h, leg, uas } = await setup();
    await uas.send(response('200 OK', [leg.via(`${leg.branchBase}${'0'.repeat(32)}`)]), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, code: 'no-via' });
  });

  for (const bad of ['255.255.255.255', '224.0.0.1', '239.255.255.250', '0.0.0.0']) {
    it(`never forwards to a broadcast or multicast address: received=${bad} (RFC 4475 bcast)`, async () => {
      const { h, leg, uas } = await setup();
      await uas.send(response('200 OK', [leg.via(`${leg.branchBase}${'1'.repeat(32)}`), `SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKb;received=${bad}`]), leg);
      expect(await h.settled(1)).toMatchObject({ ok: false, code: 'forbidden-destination' });
      expect(h.net.packets.filter((p) => p.to.address === bad)).toHaveLength(0);
    });
  }

  it('never sends a request to a broadcast address either (403)', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:x@255.255.255.255', '127.0.0.1:16000'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 403, code: 'forbidden-destination' });
    expect(h.net.packets.filter((p) => p.to.address === '255.255.255.255')).toHaveLength(0);
  });

  it('transport change TCP → UDP: two Vias and Record-Routes, the response goes back over TCP', async () => {
    h = await harness([{ address: '127.0.0.1', port: 15070, transport: 'tcp' }, { address: '127.0.0.1', port: 15070 }], { openRelay: true });
    const net = h.net;
    const { MemoryLeg } = await import('@sipway/sip-leg/testing');
    const inbox: string[] = [];
    const client = new MemoryLeg(net, { address: '127.0.0.1', port: 16001, transport: 'tcp', onReceive: (m) => inbox.push(m.isRequest ? m.method : String(m.status)) });
    await client.start();
    const uas = await h.peer('127.0.0.5', 17001);
    const [tcpLeg, udpLeg] = h.legs as [typeof h.legs[0], typeof h.legs[0]];
    const r = await client.send(
      (await import('@sipway/sip-message')).parseMessage(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16001').replace('SIP/2.0/UDP', 'SIP/2.0/TCP')),
      { transport: 'tcp', address: '127.0.0.1', port: 15070, family: 4 },
    );
    expect(r.ok).toBe(true);
    const inv = await uas.waitFor(0);
    // TCP in, UDP out: two Vias and two Record-Routes, the TCP one with its transport (RFC 5658).
    expect(inv.getHeaders('record-route').map(unsigned)).toEqual([udpLeg.recordRoute, '<sip:127.0.0.1:15070;transport=tcp;lr>']);
    expect(inv.getHeaders('via')[1]).toMatch(/^SIP\/2.0\/TCP 127.0.0.1:15070;branch=/);
    await uas.send(response('200 OK', inv.getHeaders('via')), udpLeg);
    await h.settled(2);
    const deadline = Date.now() + 2000;
    while (inbox.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 2));
    expect(inbox).toEqual(['200']);
    expect(tcpLeg.transport).toBe('tcp');
    await client.close();
  });
});
