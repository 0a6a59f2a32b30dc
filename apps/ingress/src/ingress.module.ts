// Nest as ingress's composition root: the configuration, the logger and the
// metrics registry as providers, the service's lifecycle (start on bootstrap,
// drain before shutdown). The SMTP socket loop stays out of Nest.
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
import { createIngress, type Ingress } from './create-ingress.js';

export const CONFIG = Symbol('petrel.config');
export const LOGGER = Symbol('petrel.logger');
export const INGRESS = Symbol('petrel.ingress');

@Injectable()
export class IngressLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(INGRESS) private readonly ingress: Ingress,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ingress.start();
    this.logger.info(
      { listeners: this.ingress.listeners, health: this.ingress.health?.url },
      'ingress ready',
    );
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'shutting down');
    await this.ingress.stop();
  }
}

@Module({
  providers: [
    { provide: CONFIG, useFactory: (): PetrelConfig => loadConfig() },
    {
      provide: LOGGER,
      useFactory: (config: PetrelConfig): Logger =>
        createLogger({ service: 'ingress', level: config.log.level }),
      inject: [CONFIG],
    },
    {
      provide: INGRESS,
      useFactory: (config: PetrelConfig, logger: Logger): Ingress =>
        createIngress(config, { logger, registry: createRegistry({ collectDefaults: true }) }),
      inject: [CONFIG, LOGGER],
    },
    IngressLifecycle,
  ],
})
export class IngressModule {}
