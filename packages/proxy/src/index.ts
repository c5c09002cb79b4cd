// @sipway/proxy — public entry. See README.md.
export { StatelessProxy } from './stateless-proxy.js';
export type { StatelessProxyOptions, ProxyLogger } from './options.js';
export type { ProxyOutcome, ProxyForwarded, ProxyRefused, ProxyRefusalCode } from './outcome.js';
export { bestBinding, bindingUri, type Binding, type LocationService } from './location.js';
/** The canonical address-of-record (RFC 3261 §10.3), the same function the registrar keys on. */
export { canonicalAor } from '@sipway/sip-message';
export { loopHash, netSipBranch, rfcBranch, type BranchFormula } from './branch.js';
/** The To tag of the proxy's stateless answers (RFC 3261 §16.11), from @sipway/sip-message. */
export { statelessToTag } from '@sipway/sip-message';
export { rewriteContacts, type ProxyContactRewriter } from './contacts.js';
export { isBroadcastOrMulticast } from './forbidden-address.js';
export { parseCidr, specialRange, type RangeKind } from './address-ranges.js';
export { DestinationPolicy, type DestinationPolicyOptions, type DestinationRefusal } from './destination-policy.js';
export { RECORD_ROUTE_SIGNATURE_PARAM, RecordRouteSigner, recordRouteKey, type RecordRouteKeySource } from './record-route-signature.js';
export { legNamedBy } from './own-legs.js';
export { PROXY_CHANNELS } from './diagnostics.js';
export type { ProxyDropEvent, ProxyForwardEvent, ProxyReplyEvent } from './diagnostics.js';
export { PROXY_ERROR_CODES, ProxyError, type ProxyErrorCode } from './errors.js';
export type { MediaRelay, MediaCall, MediaSide, MediaDeleteReason } from './media.js';
