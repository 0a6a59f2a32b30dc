// Nest as routing's composition root: the configuration, the logger and the
// metrics registry as providers, the service's lifecycle (start on bootstrap,
// drain before shutdown). The worker and the gRPC server stay out of Nest.
// (The same shape as ingress.module.ts; egress makes a third, which is the
// time to share it.)
import 'reflect-metadata';
import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { loadConfig, type PetrelConfig } from '@petrel/config';
import { createLogger, createRegistry, type Logger } from '@petrel/observability';
import { createRouting, type Routing } from './create-routing.js';

export const CONFIG = Symbol('petrel.config');
export const LOGGER = Symbol('petrel.logger');
export const ROUTING = Symbol('petrel.routing');

@Injectable()
export class RoutingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(ROUTING) private readonly routing: Routing,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.routing.start();
    this.logger.info(
      { grpc: this.routing.grpc?.address, health: this.routing.health?.url },
      'routing ready',
    );
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'shutting down');
    await this.routing.stop();
  }
}

@Module({
  providers: [
    { provide: CONFIG, useFactory: (): PetrelConfig => loadConfig() },
    {
      provide: LOGGER,
      useFactory: (config: PetrelConfig): Logger =>
        createLogger({ service: 'routing', level: config.log.level }),
      inject: [CONFIG],
    },
    {
      provide: ROUTING,
      useFactory: (config: PetrelConfig, logger: Logger): Routing =>
        createRouting(config, { logger, registry: createRegistry({ collectDefaults: true }) }),
      inject: [CONFIG, LOGGER],
    },
    RoutingLifecycle,
  ],
})
export class RoutingModule {}
