/**
 * The development NSM (local mode and tests): attestation documents shaped exactly like the
 * real NSM's, signed by a development chain whose root persists in a caller's directory.
 */
export { DevNsm, type DevNsmOptions } from './dev-nsm';
export { DevPki, type DevPkiOptions, type Authority } from './dev-pki';
export { DevPkiError, type DevPkiErrorCode } from './errors';
