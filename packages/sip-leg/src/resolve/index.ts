// RFC 3263 resolver: SIP/SIPS URI → ordered destinations. See docs/resolver.md.
export { SipResolver, type ResolverOptions, type ResolveOptions, type ResolveResult } from './sip-resolver.js';
export { type ResolveFailure, type ResolveFailureCode } from './failure.js';
export { orderSrv, type SrvRecord, type RandomSource } from './srv-order.js';
