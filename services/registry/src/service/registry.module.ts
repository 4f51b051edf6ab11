import { Module, type DynamicModule } from '@nestjs/common';
import { RegistryHandlers } from './registry.handlers.js';
import { RegistryService } from './registry.service.js';
import { RegistryAccess } from './registry.access.js';
import { RegistryMetrics } from './registry.metrics.js';

/** Wires the handlers to instances built outside Nest (so tests, jobs and startup share them). */
@Module({})
export class RegistryModule {
  static register(deps: {
    service: RegistryService;
    access: RegistryAccess;
    metrics: RegistryMetrics;
  }): DynamicModule {
    return {
      module: RegistryModule,
      controllers: [RegistryHandlers],
      providers: [
        { provide: RegistryService, useValue: deps.service },
        { provide: RegistryAccess, useValue: deps.access },
        { provide: RegistryMetrics, useValue: deps.metrics },
      ],
    };
  }
}
