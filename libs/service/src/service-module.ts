// Nest as every service's composition root: the configuration, the logger and
// the metrics registry as providers, and the service's lifecycle (start on
// bootstrap, drain and stop before shutdown). What a service does (SMTP
// sessions, workers, gRPC) stays in its own create-<service>.ts, out of Nest.

import 'reflect-metadata';
import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { loadConfig, type ConfigReloadOptions, type PetrelConfig } from '@petrel/config';
import { createLogger, createRegistry, type Logger, type Registry } from '@petrel/observability';

/** What a service gives its host: a lifecycle, and what to log once it is ready. */
export interface Service {
  start(): Promise<void>;
  /** Drain, then release everything. */
  stop(): Promise<void>;
  /** Where it listens, for the "ready" log line. */
  describe(): Record<string, unknown>;
}

export interface ServiceDefinition {
  /** "ingress", "routing": the log's service field and the process name. */
  readonly name: string;
  /**
   * deps.reload: where the configuration is reloaded from while the service
   * runs (PETREL_CONFIG, and SIGHUP); a service that reloads nothing ignores it.
   */
  create(
    config: PetrelConfig,
    deps: { logger: Logger; registry: Registry; reload: ConfigReloadOptions },
  ): Service;
}

export const CONFIG = Symbol('petrel.config');
export const LOGGER = Symbol('petrel.logger');
export const SERVICE = Symbol('petrel.service');
const NAME = Symbol('petrel.service.name');

@Injectable()
export class ServiceLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(SERVICE) private readonly service: Service,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(NAME) private readonly name: string,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.service.start();
    this.logger.info(this.service.describe(), `${this.name} ready`);
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'shutting down');
    await this.service.stop();
  }
}

@Module({})
export class ServiceModule {
  static for(definition: ServiceDefinition): DynamicModule {
    return {
      module: ServiceModule,
      providers: [
        { provide: NAME, useValue: definition.name },
        { provide: CONFIG, useFactory: (): PetrelConfig => loadConfig() },
        {
          provide: LOGGER,
          useFactory: (config: PetrelConfig): Logger =>
            createLogger({ service: definition.name, level: config.log.level }),
          inject: [CONFIG],
        },
        {
          provide: SERVICE,
          useFactory: (config: PetrelConfig, logger: Logger): Service =>
            definition.create(config, {
              logger,
              registry: createRegistry({ collectDefaults: true, service: definition.name }),
              reload: {},
            }),
          inject: [CONFIG, LOGGER],
        },
        ServiceLifecycle,
      ],
    };
  }
}
