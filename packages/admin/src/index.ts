// @sipway/admin — operations: Prometheus metrics from the diagnostics channels, store latency,
// and the admin HTTP listener (/metrics, /health, /bindings). See README.md.
export { createMetrics, type BindingsCounter, type MetricsOptions, type SipwayMetrics, type StoreOutcome } from './metrics.js';
export { instrumentStore, InstrumentedLocationStore, type StoreObserver } from './instrument-store.js';
export { createHealthCheck, type HealthCheck, type HealthCheckOptions, type HealthLeg, type HealthReport } from './health.js';
export { startAdminServer, type AdminServer, type AdminServerOptions, type MetricsSource } from './server.js';
export { startAdmin, parseAdminAddress, countBindings, type Admin, type AdminOptions, type AdminRegistrar } from './admin.js';
export { SIPWAY_CHANNELS, type SipwayChannelName } from './channels.js';
export { legLabel, methodLabel, statusClass } from './labels.js';
export { ADMIN_ERROR_CODES, AdminError, AdminOptionsError, AdminListenError, type AdminErrorCode } from './errors.js';
