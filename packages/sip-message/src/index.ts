export { SipError, SipParseError, type SipErrorCode } from './errors.js';
export { canonicalHeaderName, headerSpelling, isListHeader } from './header-names.js';
export {
  SipMessageBase,
  SipRequest,
  SipResponse,
  isRequest,
  isResponse,
  parseCSeq,
  type CSeq,
  type HeaderEntry,
  type SipMessage,
} from './message.js';
export { parseMessage, DEFAULT_MAX_HEADERS, DEFAULT_MAX_LINE_LENGTH, DEFAULT_MAX_MESSAGE_SIZE, type ParseOptions } from './parse.js';
export { serializeMessage } from './serialize.js';
export { StreamFramer, type FramerEvent, type StreamFramerOptions } from './framer.js';
export { validateMessage, type SipProblem } from './validate.js';
export { createResponse, REASON_PHRASES, type CreateResponseOptions } from './response.js';
export {
  parseUri,
  formatUri,
  sipUriEquals,
  isSipUri,
  parseSipUri,
  isTelUri,
  isIPv4,
  isIPv6,
  parseHostPort,
  type Uri,
  type SipUri,
  type TelUri,
  type AbsoluteUri,
  type UriEqualsOptions,
} from './uri.js';
export { parseNameAddr, parseContact, formatNameAddr, isToken, type NameAddr, type Contact } from './name-addr.js';
export { parseVia, formatVia, type Via } from './via.js';
export { splitHeaderValues, parseParams, formatParams, unquote, type Params } from './split.js';
export { canonicalHost, defaultPort, uriDefaultPort } from './host.js';
export { statelessToTag } from './stateless.js';
export { canonicalAor } from './aor.js';
