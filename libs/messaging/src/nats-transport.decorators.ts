import { applyDecorators, UseFilters } from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import type { EventDefinition, RpcDefinition } from '@orgmesh/contracts';
import { AppErrorFilter } from './app-error.filter.js';

const passThrough = new AppErrorFilter();

/** Binds a Nest handler to an RPC contract: `@RpcHandler(GetSession)`. AppErrors reach the caller typed. */
export const RpcHandler = (def: RpcDefinition): MethodDecorator =>
  applyDecorators(MessagePattern(def.subject), UseFilters(passThrough));

/** Binds a Nest handler to an event contract: `@EventHandler(SessionTransitioned)`. */
export const EventHandler = (def: EventDefinition): MethodDecorator =>
  applyDecorators(EventPattern(def.subject) as MethodDecorator, UseFilters(passThrough));
