// petrel.admin.v1 loaded for @grpc/grpc-js: the Admin service definition the
// routing service adds, and the names of its methods.

import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadService } from './load-proto.js';

export const ADMIN_SERVICE_NAME = 'petrel.admin.v1.Admin';

const ADMIN_PROTO = 'petrel/admin/v1/admin.proto';

/** The mutations, as the API names them; each streams Progress. */
export const MUTATIONS = ['Retry', 'Hold', 'Release', 'Delete', 'Bounce'] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** The Admin service definition, for Server.addService and the client. */
export function adminService(): ServiceDefinition {
  return loadService(ADMIN_PROTO, ADMIN_SERVICE_NAME);
}
