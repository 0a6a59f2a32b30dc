// petrel.routing.v1 loaded for @grpc/grpc-js: the package object, the Routing
// service definition a server adds, and the name health checks report it by.
// Loaded once per process, on first use.

import {
  loadPackageDefinition,
  type GrpcObject,
  type MethodDefinition,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadProto } from './load-proto.js';
import type { ResolveRequest, ResolveResponse } from './routing-messages.js';

/** The fully qualified service name, as gRPC health checks and reflection know it. */
export const ROUTING_SERVICE_NAME = 'petrel.routing.v1.Routing';

const ROUTING_PROTO = 'petrel/routing/v1/routing.proto';

let loaded: GrpcObject | undefined;

/** The GrpcObject of package petrel.routing.v1 (Routing, its messages and enums). */
export function loadRoutingPackage(): GrpcObject {
  loaded ??= lookup(loadPackageDefinition(loadProto(ROUTING_PROTO)), ['petrel', 'routing', 'v1']);
  return loaded;
}

/** The Routing service definition, for Server.addService. */
export function routingService(): ServiceDefinition {
  const routing = loadRoutingPackage()['Routing'];
  if (typeof routing !== 'function')
    throw new Error(`${ROUTING_SERVICE_NAME} is not in ${ROUTING_PROTO}`);
  return (routing as ServiceClientConstructor).service;
}

/** The Resolve method: its path and its (de)serializers. */
export function resolveMethod(): MethodDefinition<ResolveRequest, ResolveResponse> {
  const method = routingService()['Resolve'];
  if (method === undefined)
    throw new Error(`${ROUTING_SERVICE_NAME}/Resolve is not in ${ROUTING_PROTO}`);
  return method as MethodDefinition<ResolveRequest, ResolveResponse>;
}

function lookup(root: GrpcObject, path: readonly string[]): GrpcObject {
  let node: GrpcObject = root;
  for (const name of path) {
    const next = node[name];
    if (next === undefined || typeof next === 'function' || 'format' in next) {
      throw new Error(`package ${path.join('.')} is not in ${ROUTING_PROTO}`);
    }
    node = next as GrpcObject;
  }
  return node;
}
