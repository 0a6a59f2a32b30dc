// The routing process: read the configuration, build the Nest context, drain
// on SIGTERM/SIGINT. A configuration error names the key and exits 78 (EX_CONFIG).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@petrel/config';
import { RoutingModule } from './routing.module.js';

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(RoutingModule, {
    logger: ['error', 'warn'],
    // Errors reach main's catch (exit 78 for configuration) instead of Nest's exit 1.
    abortOnError: false,
  });
  // After the drain, exit 0 (and flush the log) rather than re-raise the signal.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`petrel routing: ${message}\n`);
  process.exit(err instanceof ConfigError ? 78 : 1);
});
