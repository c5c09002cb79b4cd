export { TcpLeg } from './tcp-leg.js';
export type { TcpLegOptions } from './tcp-leg.js';
export { StreamConnection } from '../stream/stream-leg.js';
export type { StreamLegOptions } from '../stream/stream-leg.js';
