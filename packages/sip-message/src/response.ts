import { type SipRequest, type SipResponse } from './message.js';
import { parseMessage } from './parse.js';

/** Reason phrases of RFC 3261 §21 and the extensions a proxy or registrar answers with. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  421: 'Extension Required',
  423: 'Interval Too Brief',
  429: 'Provide Referrer Identity',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  493: 'Undecipherable',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

export interface CreateResponseOptions {
  /** Tag added to To when the request's To has none (RFC 3261 §8.2.6.2). */
  toTag?: string | undefined;
  /** Extra header fields, in order. */
  headers?: ReadonlyArray<readonly [string, string]> | undefined;
  body?: Uint8Array | string | undefined;
  contentType?: string | undefined;
}

function hasTag(to: string): boolean {
  // A tag parameter after the URI; a ';tag=' inside <…> belongs to the URI.
  const close = to.lastIndexOf('>');
  return /;\s*tag\s*=/i.test(close === -1 ? to : to.slice(close));
}

/**
 * Builds a response to a request the way RFC 3261 §8.2.6 says: Via (all values, in order), From,
 * To (with a tag unless 100), Call-ID and CSeq copied; Timestamp copied into a 100 (§8.2.6.1).
 */
export function createResponse(request: SipRequest, status: number, reason?: string, options: CreateResponseOptions = {}): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) throw new RangeError(`bad status ${status}`);
  const phrase = (reason ?? REASON_PHRASES[status] ?? 'Unknown').replace(/[\r\n]/g, ' ');
  let text = `SIP/2.0 ${status} ${phrase}\r\n`;
  for (const v of request.getHeaders('via')) text += `Via: ${v}\r\n`;
  const from = request.getHeader('from');
  if (from !== undefined) text += `From: ${from}\r\n`;
  const to = request.getHeader('to');
  if (to !== undefined) text += `To: ${to}${status !== 100 && options.toTag !== undefined && !hasTag(to) ? `;tag=${options.toTag}` : ''}\r\n`;
  const callId = request.getHeader('call-id');
  if (callId !== undefined) text += `Call-ID: ${callId}\r\n`;
  const cseq = request.getHeader('cseq');
  if (cseq !== undefined) text += `CSeq: ${cseq}\r\n`;
  if (status === 100) {
    const ts = request.getHeader('timestamp');
    if (ts !== undefined) text += `Timestamp: ${ts}\r\n`;
  }
  for (const [name, value] of options.headers ?? []) text += `${name}: ${value.replace(/[\r\n]/g, ' ')}\r\n`;
  const body = options.body === undefined ? Buffer.alloc(0) : typeof options.body === 'string' ? Buffer.from(options.body) : Buffer.from(options.body);
  if (options.contentType !== undefined) text += `Content-Type: ${options.contentType}\r\n`;
  text += `Content-Length: ${body.length}\r\n\r\n`;
  return parseMessage(Buffer.concat([Buffer.from(text, 'utf8'), body]), { maxMessageSize: Number.MAX_SAFE_INTEGER }) as SipResponse;
}
