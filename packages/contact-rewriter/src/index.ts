// @sipway/contact-rewriter — public entry. See README.md.
export { base32Decode, base32Encode, type Base32DecodeOptions } from './base32.js';
export {
  ContactRewriter,
  createContactRewriter,
  DEFAULT_TOKEN_LIFETIME,
  LegSlot,
  type ContactRewriterLogger,
  type ContactRewriterOptions,
  type DecodedContact,
  type RewriteContactCallback,
  type RewriterLeg,
} from './contact-rewriter.js';
export {
  CONTACT_REJECT_CHANNEL,
  type ContactRejectMessage,
  type ContactRejectReason,
} from './diagnostics.js';
export { rotatingCrypt, type ContactCrypt } from './crypt.js';
export { ContactRewriterError, type ContactRewriterErrorCode } from './errors.js';
export {
  CONTACT_KEY_ENV,
  CONTACT_KEY_PREVIOUS_ENV,
  MAX_CONTACT_KEY_BYTES,
  deriveRc4Md5Keys,
  parseContactKey,
  processRandomKey,
  resolveContactKeys,
  type ContactKeyConfig,
  type ContactKeyInput,
  type ContactKeySource,
  type ResolvedContactKeys,
} from './keys.js';
export { legListIdentity, netSipLegKey, type NetSipLegIdentity } from './leg-list.js';
export { rc4, Rc4Keystream } from './rc4.js';
export { rc4Md5Crypt, type Rc4Md5CryptOptions } from './rc4-md5-crypt.js';
export { sipUriEqual } from './sip-uri-equal.js';
export { DEFAULT_TAG_BITS, MIN_CONTACT_KEY_BYTES, sivCrypt, type SivCryptOptions } from './siv-crypt.js';
export { CONTACT_TOKEN_PREFIX, contactTokenLength, type ContactCodecName } from './token-length.js';
