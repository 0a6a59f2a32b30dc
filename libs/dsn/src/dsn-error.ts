// Why buildDsn refused: one error class with a stable code per cause, so that
// a caller can tell "try another boundary" from "this is a bug upstream".
//
// Does not: carry the original message or any address in its message text
// (errors end up in logs; metric labels use only the code).

export type DsnErrorCode =
  /** The boundary occurs in the original or in a generated part: retry with another one. */
  | 'boundary-collision'
  /** The original holds a CR not followed by LF or an LF not preceded by CR. */
  | 'bare-line-end'
  /** An input is malformed (a control character in an address, a bad status, no recipients...). */
  | 'invalid-input'
  /** The DSN assembled breaks its own invariants: a bug in this library. */
  | 'internal';

export class DsnError extends Error {
  override readonly name = 'DsnError';

  constructor(
    readonly code: DsnErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export function invalid(message: string): DsnError {
  return new DsnError('invalid-input', message);
}
