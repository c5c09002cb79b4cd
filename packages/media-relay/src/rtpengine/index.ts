// rtpengine: the ng control protocol client and the media relay backed by it.
export {
  BENCODE_MAX_DEPTH,
  BencodeSyntaxError,
  bencodeDecode,
  bencodeEncode,
  type BencodeDict,
  type BencodeInput,
  type BencodeValue,
} from './bencode.js';
export {
  RtpengineClient,
  type RtpengineClientOptions,
  type RtpengineLogger,
  type RtpengineReply,
} from './client.js';
export { RtpengineError, type RtpengineErrorCode } from './errors.js';
export {
  RtpengineMediaRelay,
  WEBRTC_PROTOCOL,
  isWebrtcSide,
  type RtpengineMediaRelayOptions,
  type RtpengineRelaySettings,
} from './relay.js';
