export { TlsLeg } from './tls-leg.js';
export type { TlsLegOptions } from './tls-leg.js';
