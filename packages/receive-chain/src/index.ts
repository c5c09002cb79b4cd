export {
  ReceiveChain,
  handledChannel,
  unhandledChannel,
  type ChainHandledEvent,
  type ChainHandler,
  type ChainUnhandledEvent,
  type ChainMember,
  type ReceiveChainOptions,
} from './receive-chain.js';
export { Blocker, type BlockerOptions } from './blocker.js';
