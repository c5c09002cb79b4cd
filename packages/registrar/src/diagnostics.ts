import { channel } from 'node:diagnostics_channel';

/**
 * Published after every REGISTER the registrar answered:
 * `{ aor?: string, status: number, bindings: number, source: Source }` (bindings: how many the AOR holds now).
 */
export const registerChannel = channel('sipway:registrar:register');
