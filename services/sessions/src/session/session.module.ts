import { Module, type DynamicModule } from '@nestjs/common';
import { SessionHandlers } from './session.handlers.js';
import { SessionService } from './session.service.js';
import { SessionMetrics } from './session.metrics.js';
import { CallerIdentity } from '../identity/caller-identity.js';

/** Wires the handlers to a service built outside Nest (so tests and jobs share the same instances). */
@Module({})
export class SessionModule {
  static register(deps: { service: SessionService; metrics: SessionMetrics; identity: CallerIdentity }): DynamicModule {
    return {
      module: SessionModule,
      controllers: [SessionHandlers],
      providers: [
        { provide: SessionService, useValue: deps.service },
        { provide: SessionMetrics, useValue: deps.metrics },
        { provide: CallerIdentity, useValue: deps.identity },
      ],
    };
  }
}
