import { describe, expect, it } from 'vitest';
import { EXIT, EXIT_CODE_HELP, GRPC, describeError, exitCodeFor } from './exit-codes.js';

const grpcError = (code: number, details: string) =>
  Object.assign(new Error(`${code} ${details}`), { code, details });

describe('exitCodeFor', () => {
  it('maps gRPC status codes to the documented exit codes', () => {
    expect(exitCodeFor(grpcError(GRPC.NOT_FOUND, 'x'))).toBe(EXIT.NOT_FOUND);
    expect(exitCodeFor(grpcError(GRPC.UNAVAILABLE, 'x'))).toBe(EXIT.UNREACHABLE);
    expect(exitCodeFor(grpcError(GRPC.DEADLINE_EXCEEDED, 'x'))).toBe(EXIT.UNREACHABLE);
    expect(exitCodeFor(grpcError(GRPC.UNAUTHENTICATED, 'x'))).toBe(EXIT.REFUSED);
    expect(exitCodeFor(grpcError(GRPC.PERMISSION_DENIED, 'x'))).toBe(EXIT.REFUSED);
    expect(exitCodeFor(grpcError(GRPC.INVALID_ARGUMENT, 'x'))).toBe(EXIT.USAGE);
    expect(exitCodeFor(grpcError(GRPC.INTERNAL, 'x'))).toBe(EXIT.FAILED);
    expect(exitCodeFor(new Error('the stream ended before its final progress'))).toBe(EXIT.FAILED);
    expect(exitCodeFor('?')).toBe(EXIT.FAILED);
  });

  it('documents every exit code once', () => {
    expect(EXIT_CODE_HELP.map(([code]) => code)).toEqual(Object.values(EXIT));
  });
});

describe('describeError', () => {
  it('names the server it could not reach, without grpc-js’s empty resolution note', () => {
    const error = grpcError(
      GRPC.UNAVAILABLE,
      'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
    );
    expect(describeError(error, '127.0.0.1:1')).toBe(
      'cannot reach the admin API at 127.0.0.1:1 (UNAVAILABLE: No connection established. ' +
        'Last error: Error: connect ECONNREFUSED 127.0.0.1:1)',
    );
  });

  it('says what the server said otherwise', () => {
    expect(describeError(grpcError(GRPC.NOT_FOUND, 'no message X'), 'h:1')).toBe(
      'no message X (NOT_FOUND)',
    );
    expect(describeError(grpcError(GRPC.UNAUTHENTICATED, 'unknown bearer token'), 'h:1')).toMatch(
      /^the admin API at h:1 refused the credentials \(UNAUTHENTICATED: unknown bearer token\)/,
    );
    expect(describeError(new Error('boom'), 'h:1')).toBe('boom');
  });
});
