export { UdpLeg } from './udp-leg.js';
export type { UdpLegOptions } from './udp-leg.js';
