import { afterEach, describe, expect, it } from 'vitest';
import { bracket, cleanup, find, freePort, headerValues, sipp, startLine, startProxy, unsigned } from './helpers.js';

afterEach(cleanup);

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const FAMILIES = [
  { name: 'IPv4', proxy: '127.0.0.1', uac: '127.0.0.1', uas: '127.0.0.3' },
  { name: 'IPv6', proxy: '::1', uac: '::1', uas: '::1' },
];

describe.each(FAMILIES)('UDP caller to TCP callee across two legs ($name)', (f) => {
  it('Contacts are rewritten to tokens on the way out and restored on the way back; two Record-Routes (RFC 5658)', async () => {
    const proxy = await startProxy(
      ['--leg', `udp:${bracket(f.proxy)}:0`, '--leg', `tcp:${bracket(f.proxy)}:0`, '--registrar', '--domain', 'example.com', '--log-level', 'warn'],
      2,
    );
    const udp = proxy.legs.find((l) => l.transport === 'udp')!;
    const tcp = proxy.legs.find((l) => l.transport === 'tcp')!;
    const host = bracket(f.proxy);

    // The callee listens on TCP and registers over TCP.
    const uasPort = await freePort(f.uas);
    const uas = sipp({ scenario: 'uas-call.xml', local: f.uas, port: uasPort, transport: 'tcp', keys: { user: 'bob', contact_host: bracket(f.uas) } });
    const reg = await sipp({
      scenario: 'register.xml',
      remote: `${host}:${tcp.port}`,
      local: f.uas,
      port: await freePort(f.uas),
      transport: 'tcp',
      keys: { user: 'bob', domain: 'example.com', contact_host: bracket(f.uas), contact_port: uasPort },
    }).done;
    expect(reg.code, reg.errors).toBe(0);

    // The caller talks UDP.
    const uacPort = await freePort(f.uac);
    const uac = await sipp({
      scenario: 'uac-call.xml',
      remote: `${host}:${udp.port}`,
      local: f.uac,
      port: uacPort,
      transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: bracket(f.uac) },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    expect(callee.code, callee.errors).toBe(0);

    const calleeContact = `sip:bob@${bracket(f.uas)}:${uasPort};transport=TCP`;
    const [invite] = find(callee.received, /^INVITE /);
    expect(startLine(invite!)).toBe(`INVITE ${calleeContact} SIP/2.0`);
    expect(headerValues(invite!, 'Via', 'v')[0]).toMatch(new RegExp(`^SIP/2\\.0/TCP ${esc(host)}:${tcp.port};branch=z9hG4bK`));
    // The request changed leg and transport: the outgoing leg's entry on top, then the incoming one's.
    const rr = headerValues(invite!, 'Record-Route').flatMap((v) => v.split(/,\s*/)).map(unsigned);
    expect(rr).toEqual([`<sip:${host}:${tcp.port};transport=tcp;lr>`, `<sip:${host}:${udp.port};lr>`]);
    // The caller's Contact means nothing on the TCP side: a token at the proxy's TCP leg.
    const inviteContact = headerValues(invite!, 'Contact', 'm')[0]!;
    expect(inviteContact).not.toContain('alice@');
    expect(inviteContact).toMatch(new RegExp(`^<sip:[A-Za-z0-9]+@${esc(host)}:${tcp.port};transport=tcp>`));

    // The caller sees the callee's Contact as a token at the proxy's UDP leg …
    const [ok] = find(uac.received, /^SIP\/2\.0 200/);
    const okContact = headerValues(ok!, 'Contact', 'm')[0]!;
    expect(okContact).not.toContain('bob@');
    expect(okContact).toMatch(new RegExp(`^<sip:[A-Za-z0-9]+@${esc(host)}:${udp.port}[;>]`));
    // … sends ACK and BYE to it, and the proxy restores the callee's contact.
    const [bye] = find(callee.received, /^BYE /);
    expect(startLine(bye!)).toBe(`BYE ${calleeContact} SIP/2.0`);
    const [ack] = find(callee.received, /^ACK /);
    expect(startLine(ack!)).toBe(`ACK ${calleeContact} SIP/2.0`);
    const [byeSent] = find(uac.sent, /^BYE /);
    expect(startLine(byeSent!)).toMatch(new RegExp(`^BYE sip:[A-Za-z0-9]+@${esc(host)}:${udp.port}`));
    expect(await proxy.stop()).toBe(0);
  });
});
