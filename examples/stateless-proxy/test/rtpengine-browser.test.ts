import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRtpengine, until, type RtpengineDaemon } from '@sipway/test-peers';
import { EXAMPLE_DIR, cleanup, startProxy } from './helpers.js';
import { RtpEndpoint, SipPeer, audioSdp, closePeers, mediaOf } from './media-peers.js';

// A real browser: JsSIP in headless Chromium (fake microphone) over the proxy's WebSocket leg
// calls a plain UDP phone on the other leg through sipway + rtpengine. rtpengine does ICE and
// DTLS-SRTP with the browser and sends plain RTP to the phone: the phone counts the packets.

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // The peers are all on 127.0.0.1: let WebRTC gather loopback candidates.
  '--allow-loopback-in-peer-connection',
];

let daemon: RtpengineDaemon;
let browser: Browser;
let page: Server;
let pageUrl = '';

/** JsSIP (CommonJS, Node-style requires) bundled for the browser with the esbuild tsup brings. */
async function jssipBundle(): Promise<string> {
  const require = createRequire(join(EXAMPLE_DIR, 'package.json'));
  const esbuild = createRequire(require.resolve('tsup/package.json'))('esbuild') as {
    build(options: object): Promise<{ outputFiles: Array<{ text: string }> }>;
  };
  const built = await esbuild.build({ entryPoints: [require.resolve('jssip')], bundle: true, format: 'iife', globalName: 'JsSIP', platform: 'browser', write: false, logLevel: 'error' });
  return built.outputFiles[0]!.text;
}

beforeAll(async () => {
  daemon = await startRtpengine({ args: ['--delete-delay=0'] });
  const script = await jssipBundle();
  // An http://127.0.0.1 page is a secure context (getUserMedia, RTCPeerConnection).
  page = createServer((req, res) => {
    if (req.url === '/jssip.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>sipway</title><script src="/jssip.js"></script>');
    }
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as { port: number }).port}/`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  page?.close();
  await daemon?.stop();
});
afterEach(async () => {
  closePeers();
  await cleanup();
});

describe('a JsSIP browser calls a UDP phone through sipway and rtpengine', () => {
  it('the phone gets RTP/AVP SDP, answers, and receives the browser\'s audio from rtpengine as plain RTP', async () => {
    const proxy = await startProxy(
      ['--leg', 'ws:127.0.0.1:0', '--leg', 'udp:127.0.0.2:0', '--domain', '*', '--media', `rtpengine:${daemon.host}:${daemon.port}`, '--log-level', 'warn'],
      2,
    );
    const wsLeg = proxy.legs.find((l) => l.transport === 'ws')!;
    const udpLeg = proxy.legs.find((l) => l.transport === 'udp')!;
    const phone = await SipPeer.start('udp', '127.0.0.4', { host: udpLeg.address, port: udpLeg.port });
    const phoneRtp = await RtpEndpoint.open('127.0.0.4');

    const tab = await browser.newPage();
    tab.on('console', (m) => {
      if (m.type() === 'error') process.stderr.write(`[browser] ${m.text()}\n`);
    });
    await tab.goto(pageUrl);
    await tab.evaluate(
      ({ ws, target }) => {
        const w = globalThis as unknown as { JsSIP: any; state: string[]; session: any };
        w.state = [];
        const ua = new w.JsSIP.UA({
          sockets: [new w.JsSIP.WebSocketInterface(ws)],
          uri: 'sip:alice@example.com',
          register: false,
          session_timers: false,
        });
        ua.on('connected', () => {
          w.session = ua.call(target, {
            mediaConstraints: { audio: true, video: false },
            pcConfig: { iceServers: [] },
            eventHandlers: {
              progress: () => w.state.push('progress'),
              confirmed: () => w.state.push('confirmed'),
              failed: (e: { cause: string }) => w.state.push(`failed:${e.cause}`),
              ended: () => w.state.push('ended'),
            },
          });
          w.session.connection.addEventListener('iceconnectionstatechange', () => w.state.push(`ice:${w.session.connection.iceConnectionState}`));
          w.session.connection.addEventListener('connectionstatechange', () => w.state.push(`pc:${w.session.connection.connectionState}`));
        });
        ua.start();
      },
      { ws: `ws://127.0.0.1:${wsLeg.port}/`, target: `sip:bob@127.0.0.4:${phone.port}` },
    );
    const states = (): Promise<string[]> => tab.evaluate(() => (globalThis as unknown as { state: string[] }).state);

    const invite = await phone.wait((m) => m.method === 'INVITE', 'the browser\'s INVITE at the phone', 20_000);
    // The browser offered WebRTC; the phone sees plain RTP towards rtpengine.
    expect(invite.body).toMatch(/^m=audio \d+ RTP\/AVP /m);
    expect(invite.body).not.toContain('a=fingerprint');
    expect(invite.body).not.toContain('a=candidate');
    const towardPhone = mediaOf(invite.body);
    expect(towardPhone.address).toBe('127.0.0.1');
    await phone.reply(invite, 180, 'Ringing', { toTag: 'phone1' });
    await phone.reply(invite, 200, 'OK', { toTag: 'phone1', sdp: audioSdp('127.0.0.4', phoneRtp.port) });
    await until(async () => (await states()).includes('confirmed'), 20_000, 'the call confirmed in the browser').catch(async (e: Error) => {
      throw new Error(`${e.message}: ${(await states()).join(' ')}`);
    });
    // The phone talks too (rtpengine forwards it to the browser once ICE and DTLS are up).
    const talking = phoneRtp.stream(towardPhone, 150);
    await until(() => phoneRtp.got.filter((p) => p.from.address === towardPhone.address && p.from.port === towardPhone.port).length >= 100, 25_000, '100 packets from the browser at the phone').catch(async (e: Error) => {
      throw new Error(`${e.message} (got ${phoneRtp.got.length}; browser: ${(await states()).join(' ')})`);
    });
    await talking;
    const fromRtpengine = phoneRtp.got.filter((p) => p.from.address === towardPhone.address && p.from.port === towardPhone.port);
    expect(fromRtpengine.length).toBeGreaterThanOrEqual(100);
    expect(await states()).toContain('ice:connected');

    // The browser hangs up: the BYE reaches the phone.
    const mark = phone.received.length;
    await tab.evaluate(() => (globalThis as unknown as { session: { terminate(): void } }).session.terminate());
    const bye = await phone.wait((m) => m.method === 'BYE', 'BYE at the phone', 10_000, mark);
    await phone.reply(bye, 200, 'OK');
    await tab.close();
    expect(await proxy.stop()).toBe(0);
  }, 90_000);
});
