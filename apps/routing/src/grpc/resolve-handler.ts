// The Resolve call: validates the request, asks the routing domain, and
// answers with its mapped Resolution or a gRPC status.
//   empty query, or over MAX_QUERY_LENGTH characters      INVALID_ARGUMENT
//   resolve() throws an Error with code "EINVAL"            INVALID_ARGUMENT, its message
//   resolve() throws anything else (or returns garbage)    INTERNAL, logged; the
//                                                          client sees a fixed text,
//                                                          never the message or stack
// A transient routing failure (DNS SERVFAIL) is not an error: resolve()
// answers it as a defer Resolution.
//
// Does not: cancel resolve() when the client gives up (the answer is dropped;
// the DNS cache still keeps what was learnt), or retry.

import { status, type sendUnaryData, type ServerUnaryCall, type StatusObject } from '@grpc/grpc-js';
import type { ResolveRequest, ResolveResponse } from '@petrel/proto';
import type { Resolution } from '../resolution.js';
import { toResolveResponse } from './to-resolve-response.js';

/** The longest query accepted: an RFC 5321 §4.5.3.1.3 path is 256 octets; this leaves room for a source route. */
export const MAX_QUERY_LENGTH = 512;

export type ResolveFunction = (query: string, opts: { trusted: boolean }) => Promise<Resolution>;

/** The part of a pino logger the gRPC server writes to. */
export interface GrpcLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

type Outcome = { response: ResolveResponse } | { failure: Partial<StatusObject> };

const INTERNAL: Outcome = {
  failure: { code: status.INTERNAL, details: 'routing failed to resolve the query' },
};

export function createResolveHandler(resolve: ResolveFunction, logger?: GrpcLogger) {
  return (
    call: ServerUnaryCall<ResolveRequest, ResolveResponse>,
    callback: sendUnaryData<ResolveResponse>,
  ): void => {
    const reply = (outcome: Outcome) =>
      'failure' in outcome ? callback(outcome.failure, null) : callback(null, outcome.response);
    // answer() only rejects when the logger throws; the call is answered all the same.
    answer(call.request, resolve, logger).then(reply, () => reply(INTERNAL));
  };
}

/** Every failure is an Outcome with its status. */
async function answer(
  request: ResolveRequest,
  resolve: ResolveFunction,
  logger: GrpcLogger | undefined,
): Promise<Outcome> {
  const { query, trusted } = request;
  if (query === '') return invalid('query is empty');
  if (query.length > MAX_QUERY_LENGTH) {
    return invalid(`query is longer than ${MAX_QUERY_LENGTH} characters`);
  }
  try {
    return { response: toResolveResponse(await resolve(query, { trusted })) };
  } catch (error) {
    if (error instanceof Error && (error as { code?: unknown }).code === 'EINVAL') {
      return invalid(error.message);
    }
    logger?.error({ err: error, query }, 'resolve failed');
    return INTERNAL;
  }
}

function invalid(details: string): Outcome {
  return { failure: { code: status.INVALID_ARGUMENT, details } };
}
