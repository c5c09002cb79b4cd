/**
 * Abuse limits of the proxy's configuration: the per-source rate limit (on by default), the
 * digest lock-out (on with authentication) and the registrar's caps. Kept out of config.ts so
 * its defaults and checks sit in one place.
 */
import { parseLockoutOptions } from '@sipway/auth';
import type { LockoutOptions } from '@sipway/auth';
import { ConfigError } from '@sipway/example-kit';

/** `--rate-limit` when not given: 50 requests per source address per second, then 503. */
export const DEFAULT_RATE_LIMIT = { points: 50, duration: 1 } as const;

/** The registrar's caps (`--max-bindings`, `--max-aors-per-source`, `--max-aors`, `--registrar-trusted`). */
export interface RegistrarLimits {
  /** Bindings per AOR; more → 403. */
  maxBindings: number;
  /** AORs one source address may hold bindings in (per process); more → 403; 0 = no cap. */
  maxAorsPerSource: number;
  /** AORs in the store; a new one beyond → 503 with Retry-After; 0 = no cap. */
  maxAors: number;
  /** Sources exempt from maxAorsPerSource (an SBC in front). */
  trustedSources: string[];
}

export const DEFAULT_REGISTRAR_LIMITS: Readonly<RegistrarLimits> = { maxBindings: 10, maxAorsPerSource: 100, maxAors: 100_000, trustedSources: [] };

/** The settings this module reads (a slice of ConfigInput). */
export interface LimitsInput {
  rateLimit?: string | undefined;
  rateLimitAllow?: string[] | undefined;
  authLockout?: string | Record<string, unknown> | undefined;
  maxBindings?: string | undefined;
  maxAorsPerSource?: string | undefined;
  maxAors?: string | undefined;
  registrarTrusted?: string[] | undefined;
}

function invalid(message: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', `configuration: ${message}`);
}

/** `N`, `N/SECONDS` or `off`; absent = {@link DEFAULT_RATE_LIMIT}. */
export function rateLimitConfig(g: LimitsInput): { points: number; duration: number; allow: string[] } | undefined {
  const text = (g.rateLimit ?? `${DEFAULT_RATE_LIMIT.points}/${DEFAULT_RATE_LIMIT.duration}`).trim();
  if (text === 'off') {
    if (g.rateLimitAllow !== undefined) throw invalid('rate-limit-allow needs rate-limit (it is off)');
    return undefined;
  }
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
  if (m === null || Number(m[1]) < 1 || (m[2] !== undefined && Number(m[2]) < 1)) {
    throw invalid(`rate-limit "${g.rateLimit}": expected N or N/SECONDS, both ≥ 1, or off`);
  }
  return { points: Number(m[1]), duration: m[2] === undefined ? 1 : Number(m[2]), allow: g.rateLimitAllow ?? [] };
}

/** Digest lock-out options: defaults unless `auth-lockout` says otherwise (`off`, `key=value,…`, a mapping). */
export function lockoutConfig(g: LimitsInput, withAuth: boolean): LockoutOptions | false {
  if (g.authLockout === undefined) return {};
  if (!withAuth) throw invalid('auth-lockout needs at least one auth-user');
  try {
    return parseLockoutOptions(g.authLockout);
  } catch (error) {
    throw invalid(`auth-lockout: ${(error as Error).message.replace(/^lockout:? ?/, '')}`);
  }
}

function cap(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const t = String(text).trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < min || n > 2 ** 32 - 1) throw invalid(`${name} must be a whole number ≥ ${min} (got "${text}")`);
  return n;
}

/** The registrar's caps; giving one without a registrar is an error. */
export function registrarLimits(g: LimitsInput, withRegistrar: boolean): RegistrarLimits {
  const given = [g.maxBindings, g.maxAorsPerSource, g.maxAors, g.registrarTrusted].some((v) => v !== undefined);
  if (given && !withRegistrar) throw invalid("max-bindings, max-aors-per-source, max-aors and registrar-trusted are the registrar's: give --registrar");
  return {
    maxBindings: cap('max-bindings', g.maxBindings, DEFAULT_REGISTRAR_LIMITS.maxBindings, 1),
    maxAorsPerSource: cap('max-aors-per-source', g.maxAorsPerSource, DEFAULT_REGISTRAR_LIMITS.maxAorsPerSource, 0),
    maxAors: cap('max-aors', g.maxAors, DEFAULT_REGISTRAR_LIMITS.maxAors, 0),
    trustedSources: g.registrarTrusted ?? [],
  };
}
