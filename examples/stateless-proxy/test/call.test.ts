import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, find, freePort, headerValues, sipp, startLine, startProxy, unsigned } from './helpers.js';

afterEach(cleanup);

const PROXY_ARGS = ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn'];

describe('registrar through the example proxy (sipp over UDP)', () => {
  it('REGISTER, refresh and de-register: each 200 lists the binding with its expiry, the last none', async () => {
    const proxy = await startProxy(PROXY_ARGS, 1);
    const leg = proxy.legs[0]!;
    const port = await freePort();
    const r = await sipp({
      scenario: 'register-cycle.xml',
      remote: `127.0.0.1:${leg.port}`,
      local: '127.0.0.1',
      port,
      transport: 'udp',
      keys: { user: 'alice', domain: 'example.com', contact_host: '127.0.0.1', contact_port: port },
    }).done;
    expect(r.code, r.errors + r.output.slice(-2000)).toBe(0);
    const oks = find(r.received, /^SIP\/2\.0 200/);
    expect(oks).toHaveLength(3);
    expect(headerValues(oks[0]!, 'Contact', 'm').join(',')).toMatch(/expires=60/);
    expect(headerValues(oks[1]!, 'Contact', 'm').join(',')).toMatch(/expires=120/);
    expect(headerValues(oks[2]!, 'Contact', 'm')).toEqual([]);
    // RFC 3261 §10.3 step 8: the 200 carries a To tag and a Date.
    expect(headerValues(oks[0]!, 'To', 't')[0]).toMatch(/;tag=/);
    expect(headerValues(oks[0]!, 'Date')).toHaveLength(1);
    expect(await proxy.stop()).toBe(0);
  });
});

/** Registers bob@example.com at a sipp UAS on 127.0.0.3 and returns the UAS run. */
async function registeredUas(proxyPort: number, scenario: string) {
  const uasPort = await freePort('127.0.0.3');
  const uas = sipp({ scenario, local: '127.0.0.3', port: uasPort, transport: 'udp', keys: { user: 'bob', contact_host: '127.0.0.3' } });
  const reg = await sipp({
    scenario: 'register.xml',
    remote: `127.0.0.1:${proxyPort}`,
    local: '127.0.0.3',
    port: await freePort('127.0.0.3'),
    transport: 'udp',
    keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.3', contact_port: uasPort },
  }).done;
  expect(reg.code, reg.errors).toBe(0);
  return { uas, uasPort };
}

describe('calls through the example proxy (sipp UAC → proxy → sipp UAS, UDP)', () => {
  it('INVITE/100/180/200/ACK/BYE to a registered user: Via, Record-Route and Max-Forwards at the UAS, in-dialog requests through the proxy', async () => {
    const proxy = await startProxy(PROXY_ARGS, 1);
    const pp = proxy.legs[0]!.port;
    const { uas, uasPort } = await registeredUas(pp, 'uas-call.xml');
    const uac = await sipp({
      scenario: 'uac-call.xml',
      remote: `127.0.0.1:${pp}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors).toBe(0);
    expect(callee.code, callee.errors).toBe(0);

    const [invite] = find(callee.received, /^INVITE /);
    // RFC 3261 §16.5/§16.6 step 2: the Request-URI becomes the registered contact.
    expect(startLine(invite!)).toBe(`INVITE sip:bob@127.0.0.3:${uasPort};transport=UDP SIP/2.0`);
    const vias = headerValues(invite!, 'Via', 'v');
    expect(vias).toHaveLength(2);
    expect(vias[0]).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${pp};branch=z9hG4bK`));
    expect(vias[1]).toMatch(/received=127\.0\.0\.1/);
    expect(vias[1]).toMatch(/rport=\d+/);
    expect(headerValues(invite!, 'Record-Route').map(unsigned)).toEqual([`<sip:127.0.0.1:${pp};lr>`]);
    expect(headerValues(invite!, 'Max-Forwards')).toEqual(['69']);
    // The body arrives untouched.
    expect(invite).toMatch(/m=audio 6000 RTP\/AVP 0/);

    for (const method of ['ACK', 'BYE']) {
      const [req] = find(callee.received, new RegExp(`^${method} `));
      expect(req, method).toBeDefined();
      expect(startLine(req!)).toBe(`${method} sip:bob@127.0.0.3:${uasPort};transport=UDP SIP/2.0`);
      const v = headerValues(req!, 'Via', 'v');
      expect(v).toHaveLength(2);
      expect(v[0]).toMatch(new RegExp(`127\\.0\\.0\\.1:${pp};branch=z9hG4bK`));
      // Our own Route entry is removed (RFC 3261 §16.4), and Max-Forwards decremented.
      expect(headerValues(req!, 'Route')).toEqual([]);
      expect(headerValues(req!, 'Max-Forwards')).toEqual(['69']);
    }
    // The caller saw the proxy in the route set of the 200.
    const [ok] = find(uac.received, /^SIP\/2\.0 200/);
    expect(headerValues(ok!, 'Record-Route').map(unsigned)).toEqual([`<sip:127.0.0.1:${pp};lr>`]);
    expect(headerValues(ok!, 'Via', 'v')).toHaveLength(1);
    expect(await proxy.stop()).toBe(0);
  });

  it('CANCEL reaches the UAS with the INVITE branch, 487 and its ACK pass through', async () => {
    const proxy = await startProxy(PROXY_ARGS, 1);
    const pp = proxy.legs[0]!.port;
    const { uas } = await registeredUas(pp, 'uas-cancel.xml');
    const uac = await sipp({
      scenario: 'uac-cancel.xml',
      remote: `127.0.0.1:${pp}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors).toBe(0);
    expect(callee.code, callee.errors).toBe(0);
    const [invite] = find(callee.received, /^INVITE /);
    const [cancel] = find(callee.received, /^CANCEL /);
    // RFC 3261 §16.11: a stateless proxy gives the CANCEL the same branch as the INVITE.
    expect(headerValues(cancel!, 'Via', 'v')[0]).toBe(headerValues(invite!, 'Via', 'v')[0]);
    expect(startLine(cancel!)).toBe(startLine(invite!).replace(/^INVITE/, 'CANCEL'));
    expect(find(callee.received, /^ACK /)).toHaveLength(1);
    expect(find(uac.received, /^SIP\/2\.0 487/)).toHaveLength(1);
  });

  it('404 for a user of a served domain with no binding', async () => {
    const proxy = await startProxy(PROXY_ARGS, 1);
    const r = await sipp({
      scenario: 'uac-404.xml',
      remote: `127.0.0.1:${proxy.legs[0]!.port}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'nobody', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    expect(r.code, r.errors).toBe(0);
    const [resp] = find(r.received, /^SIP\/2\.0 404/);
    // A stateless answer: our To tag, the caller's Via only.
    expect(headerValues(resp!, 'To', 't')[0]).toMatch(/;tag=/);
    expect(headerValues(resp!, 'Via', 'v')).toHaveLength(1);
  });

  it('483 for Max-Forwards 0 (RFC 3261 §16.3 step 3)', async () => {
    const proxy = await startProxy(PROXY_ARGS, 1);
    const { uas } = await registeredUas(proxy.legs[0]!.port, 'uas-call.xml');
    const r = await sipp({
      scenario: 'uac-483.xml',
      remote: `127.0.0.1:${proxy.legs[0]!.port}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    expect(r.code, r.errors).toBe(0);
    expect(find(r.received, /^SIP\/2\.0 483/)).toHaveLength(1);
    // The INVITE never reached the registered UAS. (The ACK of the 483 may: a stateless proxy
    // forwards ACKs, as Net::SIP does, although this one carries the proxy's own To tag.)
    await new Promise((r) => setTimeout(r, 200));
    uas.child.kill('SIGKILL');
    expect(find((await uas.done).received, /^INVITE /)).toEqual([]);
  });
});

describe('--proxy host:port (outbound proxy)', () => {
  it('sends a request for a domain that does not resolve to the outbound proxy, Request-URI unchanged', async () => {
    const nextHopPort = await freePort('127.0.0.3');
    const nextHop = sipp({ scenario: 'uas-call.xml', local: '127.0.0.3', port: nextHopPort, transport: 'udp', keys: { user: 'bob', contact_host: '127.0.0.3' } });
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--domain', '*', '--proxy', `127.0.0.3:${nextHopPort}`, '--log-level', 'warn'], 1);
    const uac = await sipp({
      scenario: 'uac-call.xml',
      remote: `127.0.0.1:${proxy.legs[0]!.port}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'bob', domain: 'trunk.invalid', contact_host: '127.0.0.1' },
    }).done;
    const hop = await nextHop.done;
    expect(uac.code, uac.errors).toBe(0);
    expect(hop.code, hop.errors).toBe(0);
    const [invite] = find(hop.received, /^INVITE /);
    expect(startLine(invite!)).toBe('INVITE sip:bob@trunk.invalid SIP/2.0');
    expect(headerValues(invite!, 'Via', 'v')).toHaveLength(2);
    expect(await proxy.stop()).toBe(0);
  });
});
