// @sipway/registrar — public entry. See README.md.
export { Registrar, type RegistrarOptions, type RegistrarLogger } from './registrar.js';
export { toAor } from './aor.js';
export { createDomainMatcher, type DomainMatcher } from './domains.js';
export { compareBindings, liveBindings, type Binding, type BindingSource, type LocationRecord } from './binding.js';
export type { LocationStore, SaveOptions, SaveResult } from './store.js';
export { MemoryLocationStore } from './memory-store.js';
export { readRegister, applyRegister, type RegisterPolicy, type RegisterReply, type RegisterIntent, type ContactUpdate, type ApplyContext } from './register.js';
export { registerChannel } from './diagnostics.js';
export type { RegisterEvent } from './diagnostics.js';
export {
  REGISTRAR_ERROR_CODES,
  RegistrarError,
  RegistrarOptionsError,
  RegistrarClosedError,
  LocationStoreError,
  type RegistrarErrorCode,
} from './errors.js';
