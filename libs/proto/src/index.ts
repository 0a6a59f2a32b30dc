// @petrel/proto: the gRPC contracts between Petrel's services, as .proto
// files under proto/ (shipped with the package) and loaded for
// @grpc/grpc-js, with hand-written message types and typed clients.
//   petrel.routing.v1.Routing  Resolve: where a domain or address goes next
//   petrel.admin.v1.Admin      the operator's API (relayctl), served by routing
export { LOADER_OPTIONS, PROTO_DIR, loadProto, loadService, serviceMethod } from './load-proto.js';
export {
  DECISIONS,
  SOURCES,
  type Decision,
  type NextHop,
  type Reply,
  type ResolveRequest,
  type ResolveResponse,
  type Source,
} from './routing-messages.js';
export { ROUTING_SERVICE_NAME, resolveMethod, routingService } from './routing-package.js';
export {
  createRoutingClient,
  type ResolveCallOptions,
  type RoutingClient,
} from './routing-client.js';
export * from './admin-messages.js';
export { ADMIN_SERVICE_NAME, MUTATIONS, adminService, type Mutation } from './admin-package.js';
export { createAdminClient, type AdminClient, type AdminClientOptions } from './admin-client.js';
