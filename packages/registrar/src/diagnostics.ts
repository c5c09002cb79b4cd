import { channel } from 'node:diagnostics_channel';
import type { Source } from '@sipway/sip-leg';

/** Payload of `sipway:registrar:register`. */
export interface RegisterEvent {
  /** The address-of-record (absent when the REGISTER was refused before it was read). */
  aor?: string | undefined;
  status: number;
  /** How many bindings the AOR holds now. */
  bindings: number;
  source: Source;
}

/**
 * Published after every REGISTER the registrar answered:
 * `{ aor?: string, status: number, bindings: number, source: Source }` (bindings: how many the AOR holds now).
 */
export const registerChannel = channel('sipway:registrar:register');
