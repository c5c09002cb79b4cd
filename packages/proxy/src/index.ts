// @sipway/proxy — public entry. See README.md.
export { StatelessProxy } from './stateless-proxy.js';
export type { StatelessProxyOptions, ProxyLogger } from './options.js';
export type { ProxyOutcome, ProxyForwarded, ProxyRefused, ProxyRefusalCode } from './outcome.js';
export { canonicalAor, bestBinding, bindingUri, type Binding, type LocationService } from './location.js';
export { loopHash, netSipBranch, rfcBranch, statelessToTag, type BranchFormula } from './branch.js';
export { rewriteContacts, type ProxyContactRewriter } from './contacts.js';
export { isBroadcastOrMulticast } from './forbidden-address.js';
export { legNamedBy } from './own-legs.js';
export { PROXY_CHANNELS } from './diagnostics.js';
export { ProxyError, type ProxyErrorCode } from './errors.js';
export type { MediaRelay, MediaCall, MediaSide, MediaDeleteReason } from './media.js';
