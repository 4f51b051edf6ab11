import type { z } from 'zod';
import {
  AppError,
  type RpcDefinition,
  type RpcRequestInput,
  type RpcResponse,
  type ValidationIssue,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { requireKind, type Caller } from '../auth/caller.js';
import type { RpcRoute } from './route.js';

/** The raw parts of one call, before validation (REST: path, query strings, JSON body; gRPC: one message). */
export interface RawRouteInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

function invalidIdempotencyKey(message: string): AppError {
  return new AppError('validation_failed', `invalid Idempotency-Key: ${message}`, {
    details: { issues: [{ path: 'header.Idempotency-Key', message }] },
  });
}

/**
 * Validates an `Idempotency-Key` (REST header, gRPC metadata): absent, or 1–200 visible ASCII
 * characters. Present but empty is refused, not read as absent: the client meant a key and would
 * otherwise get no replay protection without knowing it.
 */
export function checkIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === '') throw invalidIdempotencyKey('must not be empty');
  if (!IDEMPOTENCY_KEY.test(value)) throw invalidIdempotencyKey('expected 1–200 visible ASCII characters');
  return value;
}

function parsePart<S extends z.ZodType>(
  schema: S | undefined,
  value: unknown,
  location: string,
  issues: ValidationIssue[],
): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    issues.push({ path: [location, ...issue.path.map(String)].join('.'), message: issue.message });
  }
  return undefined;
}

/**
 * Runs one route for a verified caller: access rule, validation of path, query and body (a 400
 * names every offending field as `path.x`, `query.x` or `body.x`), then the handler with an RPC
 * client that forwards the caller's JWT and the idempotency key. Shared by REST and gRPC.
 */
export class RouteExecutor {
  /**
   * `largeBodyRpcTimeoutMs` bounds each RPC of the routes with the import body limit (`largeBody`):
   * the registry validates and stores a 100,000-person org chart in seconds, not within the
   * default RPC timeout.
   */
  constructor(
    private readonly bus: MessageBus,
    private readonly rpcTimeoutMs: number,
    private readonly largeBodyRpcTimeoutMs: number = rpcTimeoutMs,
  ) {}

  async execute(
    route: RpcRoute,
    raw: RawRouteInput,
    caller: Caller,
    idempotencyKey: string | undefined,
  ): Promise<unknown> {
    requireKind(caller, route.access, `${route.method} ${route.path}`);
    const issues: ValidationIssue[] = [];
    const params = parsePart(route.params, raw.params, 'path', issues);
    const query = parsePart(route.query, raw.query, 'query', issues);
    const body = route.body ? parsePart(route.body, raw.body ?? {}, 'body', issues) : undefined;
    if (issues.length) {
      const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      throw new AppError('validation_failed', `invalid request: ${summary}`, { details: { issues } });
    }
    // Keys are scoped to the caller so two clients choosing the same key never see each other's result.
    const scopedKey = idempotencyKey === undefined ? undefined : `${caller.subject}/${idempotencyKey}`;
    const timeoutMs = route.largeBody ? this.largeBodyRpcTimeoutMs : this.rpcTimeoutMs;
    const call = <R extends RpcDefinition>(rpc: R, payload: RpcRequestInput<R>): Promise<RpcResponse<R>> =>
      this.bus.request(rpc, payload, {
        authorization: caller.authorization,
        idempotencyKey: scopedKey,
        timeoutMs,
      });
    return route.handle({ params, query, body, caller, idempotencyKey, call });
  }
}
