// @sipway/registrar/redis — the shared Redis location store (needs the optional peer ioredis 5).
// See README.md "Stores".
export { RedisLocationStore, type RedisLocationStoreOptions } from './redis-store.js';
