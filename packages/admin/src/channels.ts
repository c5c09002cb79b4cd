/**
 * The diagnostics_channel names the metrics subscribe to. Written out here rather than imported so
 * that this package needs only the packages whose events a deployment actually publishes; a test
 * checks each name against the constant its publisher exports.
 */
export const SIPWAY_CHANNELS = {
  /** @sipway/sip-leg `LEG_CHANNELS.receive`: `{ leg, message, source, connection }`. */
  legReceive: 'sipway:leg:receive',
  /** @sipway/sip-leg `LEG_CHANNELS.send`: `{ leg, message, destination, bytes, connection }`. */
  legSend: 'sipway:leg:send',
  /** @sipway/sip-leg `LEG_CHANNELS.error`: `{ leg, kind, error, source?, connection? }`. */
  legError: 'sipway:leg:error',
  /** @sipway/proxy `PROXY_CHANNELS.forward`: `{ message, info, leg, destination }`. */
  proxyForward: 'sipway:proxy:forward',
  /** @sipway/proxy `PROXY_CHANNELS.drop`: `{ message, info, code, reason }`. */
  proxyDrop: 'sipway:proxy:drop',
  /** @sipway/proxy `PROXY_CHANNELS.reply`: `{ request, response, info, code }`. */
  proxyReply: 'sipway:proxy:reply',
  /** @sipway/registrar `registerChannel`: `{ aor?, status, bindings, source }`. */
  registrarRegister: 'sipway:registrar:register',
  /** @sipway/receive-chain `unhandledChannel`: a message no member took. */
  chainUnhandled: 'sipway:chain:unhandled',
  /** @sipway/auth `challengedChannel`: `{ request, info, status: 401 | 407, stale }`. */
  authChallenged: 'sipway:auth:challenged',
  /** @sipway/auth `authorizedChannel`: `{ request, info, username, algorithm }`. */
  authAuthorized: 'sipway:auth:authorized',
  /** @sipway/auth `authFailedChannel`: `{ reason, status, … }`. */
  authFailed: 'sipway:auth:failed',
  /** @sipway/auth `blockedChannel`: `{ reason, action, … }` (rate limiter). */
  authBlocked: 'sipway:auth:blocked',
  /** @sipway/media-relay `MEDIA_CHANNELS.session`: `{ event: 'open' | 'active' | 'close', callId, reason? }`. */
  mediaSession: 'sipway:media:session',
  /** @sipway/media-relay `MEDIA_CHANNELS.traffic`: `{ relay, packets, bytes, dropped }` (deltas, about once a second). */
  mediaTraffic: 'sipway:media:traffic',
} as const;

export type SipwayChannelName = (typeof SIPWAY_CHANNELS)[keyof typeof SIPWAY_CHANNELS];
