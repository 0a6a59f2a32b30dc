// @petrel/dsn: RFC 3464 delivery status notifications, built as bytes. Pure:
// no I/O, no clock, no randomness; every date, id and boundary is an input.
export type { Dsn, DsnAction, DsnDiagnostic, DsnInput, DsnRecipient } from './types.js';
export { buildDsn } from './build-dsn.js';
export { DsnError, type DsnErrorCode } from './dsn-error.js';
export { dsnAddress } from './address.js';
