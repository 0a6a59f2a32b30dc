// relayctl's exit codes, and how an error from the admin API maps to one.
// Pure. Scripts can trust them: they are part of the interface (documented in
// `relayctl --help` and docs/operations.md) and only ever added to.

export const EXIT = {
  /** Done; also when a selector matched nothing, and when entries were skipped. */
  OK: 0,
  /** The server reported a failure, or the operation stopped part way. */
  FAILED: 1,
  /** The command line is wrong (or the server refused the request's arguments). */
  USAGE: 2,
  /** show or trace: the message is unknown (gRPC NOT_FOUND). */
  NOT_FOUND: 3,
  /** The server cannot be reached (gRPC UNAVAILABLE, DEADLINE_EXCEEDED). */
  UNREACHABLE: 4,
  /** The server refused the credentials (gRPC UNAUTHENTICATED, PERMISSION_DENIED). */
  REFUSED: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table in `relayctl --help` and the docs. */
export const EXIT_CODE_HELP: readonly (readonly [number, string])[] = [
  [EXIT.OK, 'success (also when nothing matched, or entries were skipped)'],
  [EXIT.FAILED, 'the server reported a failure, or the operation stopped part way'],
  [EXIT.USAGE, 'usage error (bad option, missing selector, argument the server refused)'],
  [EXIT.NOT_FOUND, 'not found: show or trace of an unknown message'],
  [EXIT.UNREACHABLE, 'cannot reach the admin API (unavailable, timed out)'],
  [EXIT.REFUSED, 'refused: bad or missing token or certificate, not allowed'],
];

/** gRPC status codes (grpc/status.proto), by number. */
export const GRPC = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const GRPC_NAMES = new Map<number, string>(
  Object.entries(GRPC).map(([name, code]) => [code, name]),
);

/** The gRPC status code of an error, or null when it is not a gRPC error. */
export function grpcCode(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && Number.isInteger(code) ? code : null;
}

export function exitCodeFor(error: unknown): ExitCode {
  switch (grpcCode(error)) {
    case GRPC.INVALID_ARGUMENT:
      return EXIT.USAGE;
    case GRPC.NOT_FOUND:
      return EXIT.NOT_FOUND;
    case GRPC.UNAVAILABLE:
    case GRPC.DEADLINE_EXCEEDED:
      return EXIT.UNREACHABLE;
    case GRPC.UNAUTHENTICATED:
    case GRPC.PERMISSION_DENIED:
      return EXIT.REFUSED;
    default:
      return EXIT.FAILED;
  }
}

/** One line for stderr (without the "relayctl: " prefix). */
export function describeError(error: unknown, address: string): string {
  const code = grpcCode(error);
  let details =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { details?: unknown }).details === 'string'
      ? (error as { details: string }).details
      : error instanceof Error
        ? error.message
        : String(error);
  if (code === null) return details;
  // grpc-js ends some details with an empty "Resolution note:".
  details = details.replace(/[.\s]*Resolution note:\s*$/, '');
  const name = GRPC_NAMES.get(code) ?? `status ${code}`;
  switch (code) {
    case GRPC.UNAVAILABLE:
      return `cannot reach the admin API at ${address} (${name}: ${details})`;
    case GRPC.DEADLINE_EXCEEDED:
      return `the admin API at ${address} did not answer in time (${name})`;
    case GRPC.UNAUTHENTICATED:
      return `the admin API at ${address} refused the credentials (${name}: ${details}); see --token-file, --cert`;
    case GRPC.PERMISSION_DENIED:
      return `the admin API at ${address} refused the call (${name}: ${details})`;
    default:
      return `${details} (${name})`;
  }
}
