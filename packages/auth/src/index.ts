// @sipway/auth — authentication and admission members for a ReceiveChain.
export { AUTH_ERROR_CODES, AuthError, AuthOptionsError, type AuthErrorCode } from './errors.js';
export {
  DigestAuthenticator,
  authenticatedUser,
  authorizedChannel,
  challengedChannel,
  type AuthLogger,
  type AuthorizedEvent,
  type ChallengedEvent,
  type DigestAuthenticatorOptions,
  type DigestUser,
  type DigestUserLookup,
} from './digest/digest-authenticator.js';
export { computeDigestResponse, computeHa1, digestHash, DIGEST_ALGORITHMS, type DigestAlgorithm, type DigestInput } from './digest/algorithms.js';
export { parseCredentials, formatChallenge, type ChallengeParts, type Credentials } from './digest/header.js';
export { MemoryNonceCountStore, type MemoryNonceCountStoreOptions, type NonceCountStore } from './digest/nonce-count-store.js';
export type { NonceSecretSource } from './digest/nonce.js';
export { RateLimiter, type PointsLimiter, type RateLimiterOptions } from './rate-limit/rate-limiter.js';
export { AddressList } from './rate-limit/address-list.js';
export { sourceKey } from '@sipway/sip-leg';
export { Lockout, parseLockoutOptions, type LockoutOptions, type LockStart } from './digest/lockout.js';
export {
  authFailedChannel,
  authLockedChannel,
  formatAuthLockedLine,
  type AuthLockedEvent,
  blockedChannel,
  formatAuthFailedLine,
  formatBlockedLine,
  type AuthFailedEvent,
  type AuthFailureReason,
  type BlockReason,
  type BlockedEvent,
  type SecurityEvent,
  type SecurityLog,
} from './security-log.js';
