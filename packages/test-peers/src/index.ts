export { startRedisServer, type RedisServer } from './redis-server.js';
export { startRtpengine, type RtpengineDaemon, type RtpengineDaemonOptions } from './rtpengine-daemon.js';
export { until } from './wait.js';
export { freePort } from './ports.js';
export { parseLogs } from './logs.js';
export { statusOf, digestAuthorization } from './sip-text.js';
export { adminGet, sample } from './admin-http.js';
export { PEERS, PEERS_FILE, missingPeerError, requirePeer, spawnPeer, type PeerSpec } from './peers.js';
