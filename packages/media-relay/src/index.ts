// @sipway/media-relay — public entry. See README.md.
export { BuiltinMediaRelay, type BuiltinMediaRelayOptions, type MediaRelayLogger, type MediaRelayStats } from './builtin.js';
export { Sdp, type SdpConnection, type SdpMedia, type SdpReplacement } from './sdp.js';
export { MEDIA_INVALID_OPTIONS, MediaRelayError, type MediaRelayErrorCode } from './errors.js';
export { MEDIA_CHANNELS, publishSession, publishTraffic, type MediaSessionEvent, type MediaTrafficEvent } from './diagnostics.js';
export type { MediaCall, MediaSide, MediaRelay, MediaDeleteReason } from './types.js';
export * from './rtpengine/index.js';
