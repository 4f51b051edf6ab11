import type { z } from 'zod';

/** A durable lifecycle event published to JetStream: `<context>.v<major>.<event-in-past-tense>`. */
export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  readonly kind: 'event';
  /** The owning bounded context, also the first subject token (stream `<CONTEXT>` holds `<context>.>`). */
  readonly context: string;
  readonly subject: string;
  readonly schema: S;
  readonly description?: string;
}

/** A request/reply operation: `rpc.<context>.v<major>.<verb>`, served by the owning service's queue group. */
export interface RpcDefinition<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly kind: 'rpc';
  readonly context: string;
  readonly subject: string;
  readonly request: Req;
  readonly response: Res;
  readonly description?: string;
}

export type EventPayload<E extends EventDefinition> = z.infer<E['schema']>;
/** What a handler receives: the request after parsing (defaults applied). */
export type RpcRequest<R extends RpcDefinition> = z.infer<R['request']>;
/** What a caller may send: the request before parsing (fields with defaults are optional). */
export type RpcRequestInput<R extends RpcDefinition> = z.input<R['request']>;
export type RpcResponse<R extends RpcDefinition> = z.infer<R['response']>;

const EVENT_SUBJECT = /^([a-z][a-z0-9-]*)\.v[0-9]+\.[a-z][a-z0-9-]*$/;
const RPC_SUBJECT = /^rpc\.([a-z][a-z0-9-]*)\.v[0-9]+\.[a-z][a-z0-9-]*$/;

const registry = new Map<string, EventDefinition | RpcDefinition>();

function register(def: EventDefinition | RpcDefinition): void {
  const existing = registry.get(def.subject);
  if (existing && existing !== def) {
    throw new Error(`contract subject defined twice: ${def.subject}`);
  }
  registry.set(def.subject, def);
}

/** Defines an event contract: subject and schema together. Publishing takes the definition, never a bare string. */
export function defineEvent<S extends z.ZodType>(input: {
  subject: string;
  schema: S;
  description?: string;
}): EventDefinition<S> {
  const match = EVENT_SUBJECT.exec(input.subject);
  if (!match?.[1]) throw new Error(`invalid event subject "${input.subject}": expected <context>.v<major>.<event>`);
  const def: EventDefinition<S> = Object.freeze({ kind: 'event' as const, context: match[1], ...input });
  register(def);
  return def;
}

/** Defines an RPC contract: subject, request and response schemas together. */
export function defineRpc<Req extends z.ZodType, Res extends z.ZodType>(input: {
  subject: string;
  request: Req;
  response: Res;
  description?: string;
}): RpcDefinition<Req, Res> {
  const match = RPC_SUBJECT.exec(input.subject);
  if (!match?.[1]) throw new Error(`invalid rpc subject "${input.subject}": expected rpc.<context>.v<major>.<verb>`);
  const def: RpcDefinition<Req, Res> = Object.freeze({ kind: 'rpc' as const, context: match[1], ...input });
  register(def);
  return def;
}

/** Every contract defined so far (import the contract modules first). */
export function allContracts(): ReadonlyArray<EventDefinition | RpcDefinition> {
  return [...registry.values()];
}

/** JetStream stream name owned by a context: `sessions` → `SESSIONS`, `mesh-router` → `MESH_ROUTER`. */
export function streamNameFor(context: string): string {
  return context.toUpperCase().replace(/-/g, '_');
}
