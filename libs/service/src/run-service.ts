// A service process's main: build the Nest context, drain on SIGTERM/SIGINT and
// exit 0, or exit 78 (EX_CONFIG) on a configuration error, naming the key.
// SIGHUP is the service's own: given deps.reload, it reloads the configuration
// (@petrel/config ConfigWatcher, as ingress and routing do).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@petrel/config';
import { ServiceModule, type ServiceDefinition } from './service-module.js';

export function runService(definition: ServiceDefinition): void {
  start(definition).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`petrel ${definition.name}: ${message}\n`);
    process.exit(err instanceof ConfigError ? 78 : 1);
  });
}

async function start(definition: ServiceDefinition): Promise<void> {
  const app = await NestFactory.createApplicationContext(ServiceModule.for(definition), {
    logger: ['error', 'warn'],
    // Errors reach runService's catch (exit 78 for configuration) instead of Nest's exit 1.
    abortOnError: false,
  });
  // After the drain, exit 0 (and flush the log) rather than re-raise the signal.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
}
