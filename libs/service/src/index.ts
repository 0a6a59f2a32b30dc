// @petrel/service: how every Petrel service process runs (Nest as the
// composition root, the lifecycle, signals and exit codes).
export {
  CONFIG,
  LOGGER,
  SERVICE,
  ServiceLifecycle,
  ServiceModule,
  type Service,
  type ServiceDefinition,
} from './service-module.js';
export { runService } from './run-service.js';
