import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { TcpLeg } from '@sipway/sip-leg/tcp';
import { StatelessProxy } from '../src/index.js';
import type { ProxyOutcome } from '../src/index.js';
import { KEY, unsigned } from './helpers.js';
import { bracket, freeUdpPort, runSipp, waitBound } from './sipp.js';

// Real peers over real sockets: a sipp UAC over TCP → proxy (TCP leg in, UDP leg out) → a sipp
// UAS over UDP. Transport change: two Vias, two Record-Routes (RFC 5658), Contacts rewritten,
// responses back on the UAC's own TCP connection (RFC 3261 §18.2.2).
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});


describe.each(['127.0.0.1', '::1'])('sipp UAC over TCP → StatelessProxy → sipp UAS over UDP (%s)', (address) => {
  it('completes a call across the legs with double Record-Route and a rewritten Contact', async () => {
    const udp = new UdpLeg({ address, port: 0 });
    const tcp = new TcpLeg({ address, port: 0 });
    const dispatcher = new Dispatcher({ legs: [udp, tcp] });
    // The UAC calls the UAS by address (not a served domain): its source is allow-listed.
    const proxy = new StatelessProxy({ dispatcher, contactKey: KEY, relayAllow: [address] });
    const outcomes: ProxyOutcome[] = [];
    dispatcher.setReceiver({ receive: (m, i) => proxy.route(m, i).then((o) => outcomes.push(o)) });
    await dispatcher.start();
    cleanup.push(() => dispatcher.close());

    const uasPort = await freeUdpPort(address);
    const uas = runSipp(['-sn', 'uas', '-t', 'u1', '-i', address, '-p', String(uasPort)]);
    // The proxy does not retransmit: the UAS must be bound before the UAC's INVITE arrives.
    await waitBound(uasPort, uas);
    const uac = runSipp(['-sn', 'uac', '-t', 't1', '-i', address, '-rsa', `${bracket(address)}:${tcp.port}`, `${bracket(address)}:${uasPort}`]);
    const [u, s] = await Promise.all([uac.done, uas.done]);
    expect(u.code, u.output).toBe(0);
    expect(s.code, s.output).toBe(0);

    const invite = /INVITE sip:[\s\S]*?\r?\n\r?\n/.exec(s.messages)?.[0] ?? '';
    const lines = invite.split(/\r?\n/);
    const vias = lines.filter((l) => /^Via:/i.test(l));
    expect(vias[0]).toContain(`SIP/2.0/UDP ${bracket(address)}:${udp.port};branch=${udp.branchBase}`);
    expect(vias[1]).toContain(`SIP/2.0/TCP ${bracket(address)}:${tcp.port};branch=${tcp.branchBase}`);
    const rr = lines.filter((l) => /^Record-Route:/i.test(l)).map(unsigned);
    expect(rr).toEqual([`Record-Route: <sip:${bracket(address)}:${udp.port};lr>`, `Record-Route: <sip:${bracket(address)}:${tcp.port};transport=tcp;lr>`]);
    const contact = lines.find((l) => /^Contact:/i.test(l)) ?? '';
    expect(contact).toMatch(new RegExp(`^Contact: <sip:s[A-Z2-7]+@${bracket(address).replace(/[[\]]/g, '\\$&')}:${udp.port}>`));
    // Every response went back over TCP to the UAC.
    const responses = outcomes.filter((o) => o.ok && !o.message.isRequest);
    expect(responses.length).toBeGreaterThanOrEqual(3);
    for (const r of responses) {
      expect(r.ok && r.leg).toBe(tcp);
      // On the connection the UAC opened, not a new one to its Via sent-by (RFC 3261 §18.2.2).
      expect(r.ok && r.connection?.direction).toBe('inbound');
    }
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  });
});
