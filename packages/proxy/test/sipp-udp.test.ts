import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { StatelessProxy } from '../src/index.js';
import type { ProxyOutcome } from '../src/index.js';
import { KEY, unsigned } from './helpers.js';
import { bracket, freeUdpPort, runSipp, waitBound } from './sipp.js';

// Real peers over real UDP sockets on loopback: sipp UAC → proxy → sipp UAS, one call
// (INVITE/100/180/200/ACK/BYE/200), on 127.0.0.1 and on ::1.
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});


describe.each(['127.0.0.1', '::1'])('sipp UAC → StatelessProxy (UDP %s) → sipp UAS', (address) => {
  it('completes a call; the UAS sees our Via on top, our Record-Route and Max-Forwards 69', async () => {
    const leg = new UdpLeg({ address, port: 0 });
    const dispatcher = new Dispatcher({ legs: [leg] });
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
    const uac = runSipp(['-sn', 'uac', '-t', 'u1', '-i', address, '-rsa', `${bracket(address)}:${leg.port}`, `${bracket(address)}:${uasPort}`]);
    const [u, s] = await Promise.all([uac.done, uas.done]);
    expect(u.code, u.output).toBe(0);
    expect(s.code, s.output).toBe(0);

    // What the UAS received (its message log): the INVITE as the proxy forwarded it.
    const invite = /INVITE sip:[\s\S]*?\r?\n\r?\n/.exec(s.messages)?.[0] ?? '';
    const lines = invite.split(/\r?\n/);
    const via = lines.find((l) => /^Via:/i.test(l)) ?? '';
    expect(via).toContain(`SIP/2.0/UDP ${bracket(address)}:${leg.port};branch=${leg.branchBase}`);
    expect(lines.map(unsigned)).toContain(`Record-Route: <sip:${bracket(address)}:${leg.port};lr>`);
    expect(lines).toContain('Max-Forwards: 69');
    const methods = outcomes.map((o) => {
      if (!o.ok) return 0;
      const m = o.message;
      return m.isRequest ? m.method : m.status;
    });
    for (const expected of ['INVITE', 'ACK', 'BYE', 180, 200]) expect(methods).toContain(expected);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  });
});
