// petrel.routing.v1 loaded for @grpc/grpc-js: the Routing service definition a
// server adds, its Resolve method, and the name health checks report it by.
// Loaded once per process, on first use.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { loadService, serviceMethod } from './load-proto.js';
import type { ResolveRequest, ResolveResponse } from './routing-messages.js';

/** The fully qualified service name, as gRPC health checks and reflection know it. */
export const ROUTING_SERVICE_NAME = 'petrel.routing.v1.Routing';

const ROUTING_PROTO = 'petrel/routing/v1/routing.proto';

/** The Routing service definition, for Server.addService. */
export function routingService(): ServiceDefinition {
  return loadService(ROUTING_PROTO, ROUTING_SERVICE_NAME);
}

/** The Resolve method: its path and its (de)serializers. */
export function resolveMethod(): MethodDefinition<ResolveRequest, ResolveResponse> {
  return serviceMethod(routingService(), ROUTING_SERVICE_NAME, 'Resolve');
}
