// A typed, promise-based client of petrel.routing.v1.Routing.
//
// resolve() rejects with @grpc/grpc-js's ServiceError (`code` a grpc status,
// `details` the server's message): INVALID_ARGUMENT for a bad query, INTERNAL
// for a routing fault, DEADLINE_EXCEEDED past deadlineMs, UNAVAILABLE when
// the server cannot be reached.
//
// Does not: retry, or set a deadline the caller did not ask for (the caller
// knows how long its own work may wait). Credentials default to insecure,
// for the cluster network; pass TLS channel credentials otherwise.

import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
} from '@grpc/grpc-js';
import type { ResolveRequest, ResolveResponse } from './routing-messages.js';
import { resolveMethod } from './routing-package.js';

export interface ResolveCallOptions {
  /** Fail with DEADLINE_EXCEEDED when no answer came within this many milliseconds. */
  deadlineMs?: number;
}

export interface RoutingClient {
  resolve(request: ResolveRequest, options?: ResolveCallOptions): Promise<ResolveResponse>;
  /** Closes the channel; calls still open fail with CANCELLED. */
  close(): void;
}

/** `address` is "host:port" (or any gRPC target, e.g. "dns:///routing:50051"). */
export function createRoutingClient(
  address: string,
  credentials: ChannelCredentials = grpcCredentials.createInsecure(),
  channelOptions: ChannelOptions = {},
): RoutingClient {
  const method = resolveMethod();
  const client = new Client(address, credentials, channelOptions);
  return {
    resolve(request, options = {}) {
      const callOptions: CallOptions = {};
      if (options.deadlineMs !== undefined) callOptions.deadline = Date.now() + options.deadlineMs;
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          new Metadata(),
          callOptions,
          (error, response) => {
            if (error) reject(error);
            else if (response === undefined) reject(new Error('Resolve answered nothing'));
            else resolve(response);
          },
        );
      });
    },
    close() {
      client.close();
    },
  };
}
