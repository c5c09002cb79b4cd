import { describe, expect, it } from 'vitest';
import { authFailedChannel, authorizedChannel, blockedChannel, challengedChannel } from '@sipway/auth';
import { MEDIA_CHANNELS } from '@sipway/media-relay';
import { PROXY_CHANNELS } from '@sipway/proxy';
import { unhandledChannel } from '@sipway/receive-chain';
import { registerChannel } from '@sipway/registrar';
import { LEG_CHANNELS } from '@sipway/sip-leg';
import { SIPWAY_CHANNELS } from '../src/index.js';

describe('SIPWAY_CHANNELS', () => {
  it('names exactly the channels the packages publish on', () => {
    expect(SIPWAY_CHANNELS.legReceive).toBe(LEG_CHANNELS.receive);
    expect(SIPWAY_CHANNELS.legSend).toBe(LEG_CHANNELS.send);
    expect(SIPWAY_CHANNELS.legError).toBe(LEG_CHANNELS.error);
    expect(SIPWAY_CHANNELS.proxyForward).toBe(PROXY_CHANNELS.forward);
    expect(SIPWAY_CHANNELS.proxyDrop).toBe(PROXY_CHANNELS.drop);
    expect(SIPWAY_CHANNELS.proxyReply).toBe(PROXY_CHANNELS.reply);
    expect(SIPWAY_CHANNELS.registrarRegister).toBe(registerChannel.name);
    expect(SIPWAY_CHANNELS.chainUnhandled).toBe(unhandledChannel.name);
    expect(SIPWAY_CHANNELS.authChallenged).toBe(challengedChannel.name);
    expect(SIPWAY_CHANNELS.authAuthorized).toBe(authorizedChannel.name);
    expect(SIPWAY_CHANNELS.authFailed).toBe(authFailedChannel.name);
    expect(SIPWAY_CHANNELS.authBlocked).toBe(blockedChannel.name);
    expect(SIPWAY_CHANNELS.mediaSession).toBe(MEDIA_CHANNELS.session);
    expect(SIPWAY_CHANNELS.mediaTraffic).toBe(MEDIA_CHANNELS.traffic);
  });
});
