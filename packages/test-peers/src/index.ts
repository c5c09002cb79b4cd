export { startRedisServer, type RedisServer } from './redis-server.js';
export { until } from './wait.js';
export { freePort } from './ports.js';
export { parseLogs } from './logs.js';
export { statusOf, digestAuthorization } from './sip-text.js';
export { adminGet, sample } from './admin-http.js';
export { pinoCapture } from './pino.js';
export { portBound, waitPortBound } from './port-bound.js';
