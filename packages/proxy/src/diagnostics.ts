import { channel } from 'node:diagnostics_channel';
import type { Destination, Leg, ReceiveInfo } from '@sipway/sip-leg';
import type { SipMessage, SipRequest, SipResponse } from '@sipway/sip-message';

/** Payload of `sipway:proxy:forward`: a request or response handed to a leg. */
export interface ProxyForwardEvent {
  message: SipMessage;
  info: ReceiveInfo;
  leg: Leg;
  destination: Destination;
}

/** Payload of `sipway:proxy:drop`: a message dropped without an answer (`code` as in ProxyOutcome). */
export interface ProxyDropEvent {
  message: SipMessage;
  info: ReceiveInfo;
  code: string;
  reason: string;
}

/** Payload of `sipway:proxy:reply`: a request the proxy answered statelessly. */
export interface ProxyReplyEvent {
  request: SipRequest;
  response: SipResponse;
  info: ReceiveInfo;
  code: string;
}

/** diagnostics_channel names published by the proxy. */
export const PROXY_CHANNELS = {
  /** `{ message, info, leg, destination }`: a request or response was handed to a leg. */
  forward: 'sipway:proxy:forward',
  /** `{ message, info, code, reason }`: a message was dropped without an answer. */
  drop: 'sipway:proxy:drop',
  /** `{ request, response, info, code }`: the proxy answered a request statelessly. */
  reply: 'sipway:proxy:reply',
} as const;

export const forwardChannel = channel(PROXY_CHANNELS.forward);
export const dropChannel = channel(PROXY_CHANNELS.drop);
export const replyChannel = channel(PROXY_CHANNELS.reply);
