import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import { LegClosedError } from '../src/index.js';
import type { BaseLegOptions, Leg } from '../src/index.js';
import { TcpLeg } from '../src/tcp/index.js';
import { MemoryNetwork } from '../src/testing/index.js';
import { TlsLeg } from '../src/tls/index.js';
import { UdpLeg } from '../src/udp/index.js';
import { WsLeg } from '../src/ws/index.js';
import { makeCert } from './certs.js';
import type { TestCert } from './certs.js';
import { FAMILIES, Inbox, bracket, request, response } from './helpers.js';

// One contract, every transport, both address families: the same checks for each leg.
let cert: TestCert;
beforeAll(async () => {
  cert = await makeCert();
});
afterAll(() => rmSync(cert.dir, { recursive: true, force: true }));

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const network = new MemoryNetwork();
type Factory = (options: BaseLegOptions) => Leg;
const KINDS: Array<{ kind: string; make: Factory; scheme: string; param: string }> = [
  { kind: 'udp', make: (o) => new UdpLeg(o), scheme: 'sip', param: '' },
  { kind: 'tcp', make: (o) => new TcpLeg(o), scheme: 'sip', param: ';transport=tcp' },
  { kind: 'tls', make: (o) => new TlsLeg({ ...o, certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile }), scheme: 'sips', param: ';transport=tls' },
  { kind: 'ws', make: (o) => new WsLeg(o), scheme: 'sip', param: ';transport=ws' },
  { kind: 'wss', make: (o) => new WsLeg({ ...o, secure: true, certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile }), scheme: 'sip', param: ';transport=wss' },
  { kind: 'memory', make: (o) => network.createLeg(o), scheme: 'sip', param: '' },
];
const MATRIX = KINDS.flatMap((k) => FAMILIES.map((f) => ({ ...k, ...f, label: `${k.kind} over ${f.name}` })));

describe.each(MATRIX)('leg contract: $label', ({ make, address, family, scheme, param }) => {
  async function started(): Promise<{ leg: Leg; inbox: Inbox }> {
    const inbox = new Inbox();
    const leg = make({ address, port: 0, onReceive: inbox.handler });
    await leg.start();
    cleanup.push(() => leg.close());
    return { leg, inbox };
  }

  it('identity follows the bound address and port', async () => {
    const { leg } = await started();
    expect(leg.state).toBe('listening');
    expect(leg.family).toBe(family);
    expect(leg.address).toBe(address);
    expect(leg.contact).toBe(`${scheme}:${bracket(address)}:${leg.port}${param}`);
    expect(leg.recordRoute).toBe(`<${leg.contact};lr>`);
    expect(leg.sentBy).toBe(`${bracket(address)}:${leg.port}`);
    expect(leg.branchBase).toMatch(/^z9hG4bK[0-9a-f]{32}$/);
    const a = leg.newBranch();
    expect(a.startsWith(leg.branchBase)).toBe(true);
    expect(leg.newBranch()).not.toBe(a);
    expect(leg.via(a)).toBe(`SIP/2.0/${leg.transport.toUpperCase()} ${leg.sentBy};branch=${a}`);
    expect(leg.canDeliverTo({ transport: leg.transport, family })).toBe(true);
    expect(leg.canDeliverTo({ transport: leg.transport, family: family === 4 ? 6 : 4 })).toBe(false);
    expect(leg.canDeliverTo({ transport: leg.transport === 'udp' ? 'tcp' : 'udp', family })).toBe(false);
  });

  it('request from one leg, stamped at the other, answered by Via without a destination', async () => {
    const a = await started();
    const b = await started();
    const sent = await a.leg.send(parseMessage(request({ via: `${a.leg.via()};rport`, callId: 'contract' })), {
      transport: b.leg.transport,
      address,
      port: b.leg.port,
      family,
    });
    expect(sent.ok).toBe(true);
    const got = await b.inbox.next();
    expect(got.message.callId).toBe('contract');
    expect(got.info.leg).toBe(b.leg);
    expect(got.info.source).toMatchObject({ transport: b.leg.transport, address, family });
    // rport is filled with the source port, so received is present too (RFC 3581 §4).
    expect(got.message.getHeader('via')).toBe(`${a.leg.via(got.message.topVia?.branch)};rport=${got.info.source.port};received=${address}`);
    const answered = await b.leg.send(parseMessage(response(got.message.getHeader('via') ?? '', 200, 'OK', 'contract')));
    expect(answered.ok).toBe(true);
    const back = await a.inbox.next();
    expect(back.message.isRequest).toBe(false);
    expect(back.message.callId).toBe('contract');
  });

  it('close is idempotent and use after close is a LegClosedError', async () => {
    const { leg } = await started();
    const first = leg.close();
    expect(leg.close()).toBe(first);
    await first;
    expect(leg.state).toBe('closed');
    await expect(leg.send(parseMessage(request()), { transport: leg.transport, address, port: 9, family })).rejects.toBeInstanceOf(LegClosedError);
    await expect(leg.start()).rejects.toBeInstanceOf(LegClosedError);
    leg.destroy();
    expect(leg.state).toBe('closed');
  });

  it('destroy is abrupt and idempotent', async () => {
    const { leg } = await started();
    leg.destroy(new Error('bye'));
    leg.destroy();
    expect(leg.state).toBe('closed');
    await expect(leg.send(parseMessage(request()), { transport: leg.transport, address, port: 9, family })).rejects.toBeInstanceOf(LegClosedError);
  });
});
