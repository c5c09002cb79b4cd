export { ConfigError } from './errors.js';
export { TRANSPORTS, defaultPort, formatLeg, parseLegSpec, type LegSpec, type LegTransport } from './leg-spec.js';
export { createLeg, type LegBuild } from './legs.js';
export { describeStore, openStore, type StoreSpec } from './store.js';
export { Signals, exitWhenDone, type CloseLogger, type CloseTexts } from './process.js';
