import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { RpcDefinition, RpcRequestInput, RpcResponse } from '@orgmesh/contracts';
import { CALLER_KINDS } from '@orgmesh/auth';
import { sendJson } from '@orgmesh/service-host/http-edge';
import type { Caller, CallerKind } from '../auth/caller.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Sends one RPC to the owning service with the caller's JWT and the request's idempotency key. */
export type RpcCall = <R extends RpcDefinition>(
  rpc: R,
  payload: RpcRequestInput<R>,
) => Promise<RpcResponse<R>>;

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: Caller;
  idempotencyKey: string | undefined;
  call: RpcCall;
}

/** The gRPC method a route also answers as: request fields are path params + query + body, flat. */
export interface GrpcBinding {
  service: 'Sessions' | 'Mesh' | 'Registry';
  method: string;
}

/**
 * The OpenAPI tags, each with its description: a route names one of these (a typo fails the
 * typecheck), and the document describes every tag its operations use.
 */
export const ROUTE_TAGS = {
  sessions: 'Agent work sessions and their lifecycle',
  mesh: 'Tasks, approvals and notifications between agents',
  registry: 'Agents, profiles, the org chart',
  usage: 'LLM usage and cost recorded by the privacy proxy',
  privacy: 'Redaction counts recorded by the privacy proxy (counts only)',
  events: 'Lifecycle event subscriptions (SSE)',
  identity: 'Tokens and keys',
  a2a: "Agent2Agent (A2A): the org's and the registry agents' cards and endpoints",
  console: 'The operator console (static files)',
} as const;

export type RouteTag = keyof typeof ROUTE_TAGS;

interface RouteBase {
  /** Unique; the OpenAPI operationId. */
  operationId: string;
  method: HttpMethod;
  /** OpenAPI path template, e.g. `/v1/sessions/{id}/events`. */
  path: string;
  tag: RouteTag;
  summary: string;
  description?: string;
  /** Error statuses documented besides 400/401/403/429/503, e.g. 404 and 409. */
  errors?: readonly number[];
}

/**
 * A JSON route that translates to NATS RPCs. The table of these is the single source of the REST
 * dispatch, the OpenAPI document and the gRPC bindings.
 */
export interface RpcRoute<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> extends RouteBase {
  kind: 'rpc';
  /** Who may call it at all; finer rules (own role, own agent) are checked in `handle`. */
  access: readonly CallerKind[];
  params?: P;
  /** Query parameters arrive as strings: the schema coerces. */
  query?: Q;
  body?: B;
  /** Accepted request content types besides JSON, mapped to the body schema's input. */
  alternateBodies?: Partial<Record<'text/csv', (text: string) => unknown>>;
  /** Use the import body limit instead of the default one. */
  largeBody?: boolean;
  /** A create that honours `Idempotency-Key` (forwarded on NATS; the owning service replays). */
  idempotent?: boolean;
  status: 200 | 201 | 202;
  response: R;
  grpc?: GrpcBinding;
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** A route that writes its own response (SSE, the token endpoint, discovery documents). */
export interface RawRoute extends RouteBase {
  kind: 'raw';
  /** `public` routes take no token. */
  access: readonly CallerKind[] | 'public';
  query?: z.ZodType;
  /** Documented request body (OpenAPI only; the handler parses). */
  requestBody?: { contentTypes: string[]; schema: z.ZodType };
  responses: Record<number, { description: string; contentType?: string; schema?: z.ZodType }>;
  /**
   * Also authenticates with `?ticket=` from `POST /v1/events/tickets` (events/stream-ticket.ts),
   * for clients that cannot send a header (a browser's EventSource).
   */
  streamTicket?: boolean;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RawRouteContext): Promise<void>;
}

export interface RawRouteContext {
  /** Undefined for public routes. */
  caller: Caller | undefined;
  url: URL;
  /** Reads the body within the default limit (413 beyond it). */
  readBody(): Promise<Buffer>;
  /** Resolves when the client went away. */
  signal: AbortSignal;
}

export type Route = RpcRoute | RawRoute;

/** Identity function that keeps the schema types of one route for its handler. */
export function defineRoute<
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType,
>(route: Omit<RpcRoute<P, Q, B, R>, 'kind'>): RpcRoute {
  return { kind: 'rpc', ...route } as unknown as RpcRoute;
}

/**
 * A route that is one RPC, answered with its response as it is: the route names the RPC once, and
 * `request` makes the RPC's request of the route's input (after checking what the caller may ask,
 * e.g. requireSelf or selfFilter).
 */
export function forwardRoute<
  Rpc extends RpcDefinition,
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
>(
  rpc: Rpc,
  doc: Omit<RpcRoute<P, Q, B, Rpc['response']>, 'kind' | 'response' | 'handle'> & {
    request(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): RpcRequestInput<Rpc>;
  },
): RpcRoute {
  const { request, ...route } = doc;
  return defineRoute<P, Q, B, Rpc['response']>({
    ...route,
    response: rpc.response,
    // The RPC's parsed response is its schema's output; the route answers it as it is.
    handle: async (input) => (await input.call(rpc, request(input))) as z.input<Rpc['response']>,
  });
}

export function defineRawRoute(route: Omit<RawRoute, 'kind'>): RawRoute {
  return { kind: 'raw', ...route };
}

/**
 * A public GET of one JSON document (signing keys, discovery metadata, Agent Cards): no token, and
 * the same document for every reader, so a shared cache may keep it `maxAgeSec` seconds.
 */
export function definePublicDocumentRoute(
  route: Omit<RawRoute, 'kind' | 'method' | 'access' | 'responses' | 'handle'> & {
    response: { description: string; schema?: z.ZodType };
    maxAgeSec: number;
    document(ctx: RawRouteContext): Promise<unknown>;
  },
): RawRoute {
  const { response, maxAgeSec, document, ...rest } = route;
  return defineRawRoute({
    ...rest,
    method: 'GET',
    access: 'public',
    responses: { 200: { ...response, contentType: 'application/json' } },
    async handle(req, res, ctx) {
      req.resume();
      sendJson(res, 200, await document(ctx), { 'cache-control': `public, max-age=${maxAgeSec}` });
    },
  });
}

/**
 * Every kind of machine-era caller. Not CALLER_KINDS: a signed-in person (`person`, issue 23) reaches only
 * the routes that name it (the approvals inbox, the decision, whoami), never these by default.
 */
export const ALL_KINDS: readonly CallerKind[] = CALLER_KINDS.filter((kind) => kind !== 'person');
export const WRITERS: readonly CallerKind[] = ['admin', 'agent'];
export const ADMINS: readonly CallerKind[] = ['admin'];
export const STAFF: readonly CallerKind[] = ['admin', 'viewer'];
