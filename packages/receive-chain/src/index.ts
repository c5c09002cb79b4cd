export {
  ReceiveChain,
  handledChannel,
  unhandledChannel,
  type ChainHandler,
  type ChainMember,
  type ReceiveChainOptions,
} from './receive-chain.js';
export { Blocker, type BlockerOptions } from './blocker.js';
