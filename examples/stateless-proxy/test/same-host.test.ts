/**
 * Issue 9 item 1: a callee on the proxy's own host (127.0.0.1, another port). The 2xx ACK
 * `ACK sip:bob@127.0.0.1:P1` with `Route: <sip:127.0.0.1:P2;lr>` used to be taken for the
 * proxy itself (host alone), looked up and dropped as 404. A URI names the proxy only by host,
 * port and transport (RFC 3261 §16.4, §19.1.4); the call completes over UDP and TCP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, find, freePort, headerValues, sipp, startLine, startProxy } from './helpers.js';

afterEach(cleanup);

describe.each(['udp', 'tcp'] as const)('a callee on 127.0.0.1 like the proxy (%s)', (transport) => {
  const T = transport.toUpperCase();

  it('registered as bob@example.com: INVITE, ACK and BYE reach it, the BYE gets its 200', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn'], 2);
    const leg = proxy.legs.find((l) => l.transport === transport)!;
    const uasPort = await freePort();
    const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.1', port: uasPort, transport, keys: { user: 'bob', contact_host: '127.0.0.1' } });
    const reg = await sipp({
      scenario: 'register.xml', remote: `127.0.0.1:${leg.port}`, local: '127.0.0.1', port: await freePort(), transport,
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1', contact_port: uasPort },
    }).done;
    expect(reg.code, reg.errors).toBe(0);
    const uac = await sipp({
      scenario: 'uac-call.xml', remote: `127.0.0.1:${leg.port}`, local: '127.0.0.1', port: await freePort(), transport,
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    expect(callee.code, callee.errors + callee.output.slice(-1500)).toBe(0);

    const contact = `sip:bob@127.0.0.1:${uasPort};transport=${T}`;
    // The caller's ACK and BYE carry the Route naming the proxy and the callee's own address.
    const [ackSent] = find(uac.sent, /^ACK /);
    expect(startLine(ackSent!)).toBe(`ACK ${contact} SIP/2.0`);
    expect(headerValues(ackSent!, 'Route')[0]).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${leg.port}${transport === 'tcp' ? ';transport=tcp' : ''};lr;rrsig=`));
    for (const method of ['ACK', 'BYE']) {
      const [got] = find(callee.received, new RegExp(`^${method} `));
      expect(got, method).toBeDefined();
      expect(startLine(got!)).toBe(`${method} ${contact} SIP/2.0`);
      expect(headerValues(got!, 'Route')).toEqual([]);
    }
    expect(find(uac.received, /^SIP\/2\.0 200/)).toHaveLength(2);
    expect(proxy.output()).not.toMatch(/is unknown/);
    expect(await proxy.stop()).toBe(0);
  });

  it('over IPv6: a callee on ::1 like the proxy, registered, gets ACK and BYE', async () => {
    const proxy = await startProxy(['--leg', 'udp:[::1]:0', '--leg', 'tcp:[::1]:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn'], 2);
    const leg = proxy.legs.find((l) => l.transport === transport)!;
    const uasPort = await freePort('::1');
    const uas = sipp({ scenario: 'uas-call.xml', local: '::1', port: uasPort, transport, keys: { user: 'bob', contact_host: '[::1]' } });
    const reg = await sipp({
      scenario: 'register.xml', remote: `[::1]:${leg.port}`, local: '::1', port: await freePort('::1'), transport,
      keys: { user: 'bob', domain: 'example.com', contact_host: '[::1]', contact_port: uasPort },
    }).done;
    expect(reg.code, reg.errors).toBe(0);
    const uac = await sipp({
      scenario: 'uac-call.xml', remote: `[::1]:${leg.port}`, local: '::1', port: await freePort('::1'), transport,
      keys: { user: 'bob', domain: 'example.com', contact_host: '[::1]' },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    expect(callee.code, callee.errors + callee.output.slice(-1500)).toBe(0);
    for (const method of ['ACK', 'BYE']) {
      const [got] = find(callee.received, new RegExp(`^${method} `));
      expect(startLine(got!)).toBe(`${method} sip:bob@[::1]:${uasPort};transport=${T} SIP/2.0`);
    }
    expect(await proxy.stop()).toBe(0);
  });

  it('called directly at 127.0.0.1:port by an allow-listed caller: the call completes', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--domain', 'example.com', '--relay-allow', '127.0.0.1/32', '--log-level', 'warn'], 2);
    const leg = proxy.legs.find((l) => l.transport === transport)!;
    const uasPort = await freePort();
    const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.1', port: uasPort, transport, keys: { user: 'bob', contact_host: '127.0.0.1' } });
    const uac = await sipp({
      scenario: 'uac-call.xml', remote: `127.0.0.1:${leg.port}`, local: '127.0.0.1', port: await freePort(), transport,
      keys: { user: 'bob', domain: `127.0.0.1:${uasPort};transport=${transport}`, contact_host: '127.0.0.1' },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    expect(callee.code, callee.errors + callee.output.slice(-1500)).toBe(0);
    expect(find(callee.received, /^ACK /)).toHaveLength(1);
    expect(find(callee.received, /^BYE /)).toHaveLength(1);
  });
});
