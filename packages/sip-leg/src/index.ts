// @sipway/sip-leg — public entry. Transports are subpath exports (/udp, /tcp, /tls, /ws, /testing)
// so their dependencies load only for those who use them.
export * from './destination.js';
export * from './errors.js';
export * from './leg.js';
export * from './diagnostics.js';
export { responseTarget, responseTargetOf, stampVia, readVia } from './via.js';
export type { ResponseTarget, ViaParts } from './via.js';
export { Dispatcher } from './dispatcher.js';
export type { DeliverFailure, DeliverOptions, DeliverResult, DestinationResolver, DispatcherOptions, Receiver, RouteFailure, RouteOptions, RouteResult } from './dispatcher.js';
export { literalDestination } from './route.js';
export * from './resolve/index.js';
export { isConnectionTransport, reachableOnlyByFlow } from './flow.js';
export { legPlace } from './address.js';
export { sourceKey } from './source-key.js';
