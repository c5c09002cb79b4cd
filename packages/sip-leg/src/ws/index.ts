export { WsLeg, WsConnection } from './ws-leg.js';
export type { WsLegOptions } from './ws-leg.js';
