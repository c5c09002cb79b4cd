export { MemoryNetwork, MemoryLeg } from './memory-network.js';
export type { MemoryLegOptions, MemoryNetworkConditions, MemoryNetworkOptions, MemoryPacket } from './memory-network.js';
