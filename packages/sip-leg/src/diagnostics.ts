import { channel } from 'node:diagnostics_channel';
import type { SipMessage } from '@sipway/sip-message';
import type { Destination } from './destination.js';
import type { Leg, LegConnection, Source } from './leg.js';

/** Payload of `sipway:leg:receive`: a parsed message, before the receiver sees it. */
export interface LegReceiveEvent {
  leg: Leg;
  message: SipMessage;
  source: Source;
  connection: LegConnection | undefined;
}
/** Payload of `sipway:leg:send`: serialized bytes handed to the socket. */
export interface LegSendEvent {
  leg: Leg;
  message: SipMessage;
  destination: Destination;
  bytes: Uint8Array;
  connection: LegConnection | undefined;
}
/** Payload of `sipway:leg:error`: a dropped input, a failed send, a closed connection. */
export interface LegErrorEvent {
  leg: Leg;
  /** Short stable name of what happened, e.g. `parse-failed`, `framing-lost`, `send-failed`. */
  kind: string;
  error: unknown;
  source?: Source | undefined;
  connection?: LegConnection | undefined;
}

/** diagnostics_channel names published by every leg. */
export const LEG_CHANNELS = {
  receive: 'sipway:leg:receive',
  send: 'sipway:leg:send',
  error: 'sipway:leg:error',
} as const;

export const receiveChannel = channel(LEG_CHANNELS.receive);
export const sendChannel = channel(LEG_CHANNELS.send);
export const errorChannel = channel(LEG_CHANNELS.error);
