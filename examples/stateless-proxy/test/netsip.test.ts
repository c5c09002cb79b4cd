import { requirePeer, spawnPeer } from '@sipway/test-peers';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { portBound, waitPortBound } from '@sipway/test-peers';
import { cleanup, find, freePort, headerValues, sipp, startLine, startProxy, unsigned } from './helpers.js';

const NETSIP = '/usr/share/doc/libnet-sip-perl/examples/bin/stateless_proxy.pl';
const stops: Array<() => void> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  await cleanup();
});

/** Starts Net::SIP's stateless_proxy.pl on a free port; resolves once it holds the port. */
async function startNetSip(): Promise<number> {
  // CI installs libnet-sip-perl (.ci/run); without it this test fails rather than skips.
  requirePeer('libnet-sip-perl');
  if (!existsSync(NETSIP)) throw new Error(`${NETSIP} missing: apt-get install libnet-sip-perl`);
  const port = await freePort();
  let missing: Error | undefined;
  const child = spawnPeer('perl', [NETSIP, '--leg', `127.0.0.1:${port}`], { stdio: 'ignore' }, (e) => (missing = e));
  stops.push(() => child.kill('SIGKILL'));
  let bound = false;
  const end = Date.now() + 10_000;
  while (!bound && Date.now() < end) {
    if (missing !== undefined) throw missing;
    bound = portBound(port, 'udp');
    if (!bound) await new Promise((r) => setTimeout(r, 50));
  }
  if (!bound) throw new Error('stateless_proxy.pl did not bind');
  return port;
}

/**
 * What the UAS got, with run-specific values (ports, pids in Call-ID and branches) replaced, Via
 * parameters sorted (Net::SIP sorts them when it adds received/rport) and header names
 * lower-cased (Net::SIP writes `Record-route`, `Max-forwards`).
 */
function normalize(message: string, proxyPort: number, uacPort: number, uasPort: number) {
  const sub = (s: string) =>
    s
      .replaceAll(`:${proxyPort}`, ':PROXY')
      .replaceAll(`:${uacPort}`, ':UAC')
      .replaceAll(`=${uacPort}`, '=UAC')
      .replaceAll(`:${uasPort}`, ':UAS')
      .replace(/\d+-\d+@/, 'CALLID@');
  const via = (v: string) => {
    const [sentBy, ...params] = sub(v).split(';');
    return [sentBy, ...params.map((p) => (p.startsWith('branch=') ? 'branch=…' : p)).sort()].join(';');
  };
  return {
    startLine: sub(startLine(message)),
    via: headerValues(message, 'Via', 'v').map(via),
    // sipway signs its Record-Route entry (;rrsig=, issue 9 item 6); Net::SIP does not.
    recordRoute: headerValues(message, 'Record-Route').map((v) => sub(unsigned(v))),
    route: headerValues(message, 'Route'),
    maxForwards: headerValues(message, 'Max-Forwards'),
    from: headerValues(message, 'From', 'f').map(sub),
    to: headerValues(message, 'To', 't').map(sub),
    callId: headerValues(message, 'Call-ID', 'i').map(sub),
    cseq: headerValues(message, 'CSeq'),
    contact: headerValues(message, 'Contact', 'm').map(sub),
    contentType: headerValues(message, 'Content-Type', 'c'),
    body: message.split(/\r?\n\r?\n/).slice(1).join('\n\n').trim(),
  };
}

async function callThrough(proxyPort: number) {
  const uasPort = await freePort('127.0.0.3');
  const uacPort = await freePort();
  const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', keys: { user: 'bob', contact_host: '127.0.0.3' } });
  // sipp prints no readiness line: wait until the UAS holds its port.
  await waitPortBound(uasPort);
  const uac = await sipp({
    scenario: 'uac-call.xml',
    remote: `127.0.0.1:${proxyPort}`,
    local: '127.0.0.1',
    port: uacPort,
    transport: 'udp',
    keys: { user: 'bob', domain: `127.0.0.3:${uasPort}`, contact_host: '127.0.0.1' },
  }).done;
  const callee = await uas.done;
  expect(uac.code, uac.errors).toBe(0);
  expect(callee.code, callee.errors).toBe(0);
  const pick = (re: RegExp) => normalize(find(callee.received, re)[0]!, proxyPort, uacPort, uasPort);
  return { invite: pick(/^INVITE /), ack: pick(/^ACK /), bye: pick(/^BYE /) };
}

describe("the same call through Net::SIP's stateless_proxy.pl and through sipway", () => {
  it('gives the UAS the same INVITE, ACK and BYE (Via, Record-Route, Route, Max-Forwards, untouched headers and body)', async () => {
    const netSipPort = await startNetSip();
    const viaNetSip = await callThrough(netSipPort);
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--domain', '*', '--log-level', 'warn'], 1);
    const viaSipway = await callThrough(proxy.legs[0]!.port);

    // Sanity: the flow really went through a proxy (its Via and Record-Route).
    expect(viaSipway.invite.via).toHaveLength(2);
    expect(viaSipway.invite.via[0]).toBe('SIP/2.0/UDP 127.0.0.1:PROXY;branch=…');
    expect(viaSipway.invite.recordRoute).toEqual(['<sip:127.0.0.1:PROXY;lr>']);
    for (const m of ['invite', 'ack', 'bye'] as const) {
      expect(viaSipway[m], m).toEqual(viaNetSip[m]);
    }
    expect(await proxy.stop()).toBe(0);
  });
});
