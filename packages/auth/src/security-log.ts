import { channel } from 'node:diagnostics_channel';

/** Why a message was blocked by the rate limiter. */
export type BlockReason = 'rate-limit' | 'flood';

/** Why an authentication failed. */
export type AuthFailureReason = 'bad-password' | 'unknown-user' | 'forbidden' | 'malformed' | 'uri-mismatch' | 'replay';

/** Payload of `sipway:auth:blocked`. */
export interface BlockedEvent {
  kind: 'blocked';
  source: string;
  port: number;
  transport: string;
  reason: BlockReason;
  method: string;
  /** What the peer got: 503, or `drop`. */
  action: 503 | 'drop';
  /** The exact log line (see {@link formatBlockedLine}). */
  line: string;
}

/** Payload of `sipway:auth:failed`. */
export interface AuthFailedEvent {
  kind: 'auth-failed';
  source: string;
  port: number;
  transport: string;
  reason: AuthFailureReason;
  method: string;
  user: string;
  realm: string;
  /** The status answered (400, 401 with stale=true, 403). */
  status: number;
  line: string;
}

/** Payload of `sipway:auth:locked`: a lock-out started (one per lock-out, not per refused attempt). */
export interface AuthLockedEvent {
  kind: 'auth-locked';
  /** The source whose failure started it. */
  source: string;
  port: number;
  transport: string;
  /** `source`: this address is refused; `user`: this user, from sources never seen authenticating as it. */
  scope: 'source' | 'user';
  /** Seconds the lock-out lasts. */
  seconds: number;
  /** Failures counted in the window. */
  failures: number;
  method: string;
  user: string;
  realm: string;
  line: string;
}

export type SecurityEvent = BlockedEvent | AuthFailedEvent | AuthLockedEvent;

/** Receives each security line, e.g. `(line) => process.stderr.write(line + '\n')`. */
export type SecurityLog = (line: string, event: SecurityEvent) => void;

/** `sipway:auth:blocked`: a message refused by the rate limiter. */
export const blockedChannel = channel('sipway:auth:blocked');
/** `sipway:auth:failed`: credentials that were refused. */
export const authFailedChannel = channel('sipway:auth:failed');
/** `sipway:auth:locked`: a brute-force lock-out started. */
export const authLockedChannel = channel('sipway:auth:locked');

// Peer-controlled text never breaks the line or its fields: JSON quoting escapes quotes and
// control characters, and the field stays last.
function quoted(text: string): string {
  return JSON.stringify(text.length > 128 ? `${text.slice(0, 128)}…` : text);
}

// A method is a token (RFC 3261 §25.1); anything else is not echoed.
function token(text: string): string {
  return /^[A-Za-z0-9.!%*_+`'~-]{1,32}$/.test(text) ? text : '-';
}

/**
 * `sipway blocked source=192.0.2.7 port=5060 reason=rate-limit method=REGISTER`
 * (fields in this order, space-separated; IPv6 sources are written without brackets).
 */
export function formatBlockedLine(e: Pick<BlockedEvent, 'source' | 'port' | 'reason' | 'method'>): string {
  return `sipway blocked source=${e.source} port=${e.port} reason=${e.reason} method=${token(e.method)}`;
}

/**
 * `sipway auth-failed source=192.0.2.7 port=5060 reason=bad-password method=REGISTER user="alice"`
 * (user last and JSON-quoted because the peer chose it).
 */
export function formatAuthFailedLine(e: Pick<AuthFailedEvent, 'source' | 'port' | 'reason' | 'method' | 'user'>): string {
  return `sipway auth-failed source=${e.source} port=${e.port} reason=${e.reason} method=${token(e.method)} user=${quoted(e.user)}`;
}

/**
 * `sipway auth-locked source=192.0.2.7 port=5060 scope=source seconds=60 failures=10 method=REGISTER user="alice"`
 * (one line when a lock-out starts; user last and JSON-quoted).
 */
export function formatAuthLockedLine(e: Pick<AuthLockedEvent, 'source' | 'port' | 'scope' | 'seconds' | 'failures' | 'method' | 'user'>): string {
  return `sipway auth-locked source=${e.source} port=${e.port} scope=${e.scope} seconds=${e.seconds} failures=${e.failures} method=${token(e.method)} user=${quoted(e.user)}`;
}
