import { channel } from 'node:diagnostics_channel';

/** diagnostics_channel names published by the media relays. */
export const MEDIA_CHANNELS = {
  /**
   * `{ event: 'open' | 'active' | 'close', callId, reason?, packets?, bytes? }`: a call's media was
   * offered, answered (packets flow), or ended (`reason`: bye, cancel, rejected, idle,
   * unanswered, failed, closed; with the call's packet and byte counts).
   */
  session: 'sipway:media:session',
  /** `{ relay, packets, bytes, dropped }`: forwarded and dropped packets since the last event, about once a second. */
  traffic: 'sipway:media:traffic',
} as const;

/** Payload of `sipway:media:session`. */
export interface MediaSessionEvent {
  event: 'open' | 'active' | 'close';
  callId: string;
  reason?: string;
  packets?: number;
  bytes?: number;
}

/** Payload of `sipway:media:traffic`. */
export interface MediaTrafficEvent {
  relay: string;
  packets: number;
  bytes: number;
  dropped: number;
}

export const sessionChannel = channel(MEDIA_CHANNELS.session);
export const trafficChannel = channel(MEDIA_CHANNELS.traffic);

export function publishSession(event: MediaSessionEvent): void {
  if (sessionChannel.hasSubscribers) sessionChannel.publish(event);
}

export function publishTraffic(event: MediaTrafficEvent): void {
  if (trafficChannel.hasSubscribers) trafficChannel.publish(event);
}
