import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  AgentPresence,
  ERROR_CODES,
  OrgUser,
  RegistryAgent,
  RoleProfile,
  Session,
  SessionTransition,
  Task,
  TaskHistoryEntry,
  httpStatusFor,
} from '@orgmesh/contracts';
import { problemTitle, problemType } from '@orgmesh/service-host/http-edge';
import { ROUTE_TAGS, type Route, type RpcRoute, type RawRoute } from '../routes/route.js';
import { OPERATION_EXAMPLES } from './examples.js';
import { problemExample } from './problem-examples.js';
import { API_LICENSE, introduction } from './introduction.js';

type Json = Record<string, unknown>;

/** Contract shapes that become named components (referenced, not repeated, across operations). */
const COMPONENT_IDS = new Map<z.ZodType, string>([
  [Session, 'Session'],
  [SessionTransition, 'SessionTransition'],
  [Task, 'Task'],
  [TaskHistoryEntry, 'TaskHistoryEntry'],
  [RegistryAgent, 'RegistryAgent'],
  [AgentPresence, 'AgentPresence'],
  [RoleProfile, 'RoleProfile'],
  [OrgUser, 'OrgUser'],
]);

/**
 * The metadata zod's JSON Schema generator reads: the component ids above, over the global
 * registry where `.describe()` keeps descriptions (a separate registry alone would drop them).
 */
const COMPONENTS = {
  get(schema: z.ZodType) {
    const global = z.globalRegistry.get(schema);
    const id = COMPONENT_IDS.get(schema);
    return id ? { ...global, id } : global;
  },
} as unknown as z.core.$ZodRegistry<Record<string, unknown>>;

/** Every JSON route can answer these; 413 only where a request body exists (added per operation). */
const STANDARD_ERRORS = [400, 401, 403, 429, 503] as const;

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  400: 'Invalid request: `issues` names each field path',
  401: 'Missing, expired or invalid bearer token',
  403: 'The caller may not do this (role, ownership or policy)',
  404: 'Not found',
  409: 'Conflict: an illegal transition carries `currentState` and `allowedEvents`',
  413: 'Request body too large',
  429: 'Rate limited: retry after `Retry-After` seconds',
  503: 'A dependency is unavailable: retry after `Retry-After` seconds',
};

/** Converts a zod schema, hoisting its `$defs` into the shared component table. */
class SchemaConverter {
  readonly components: Record<string, Json> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const generated = z.toJSONSchema(schema, {
      metadata: COMPONENTS,
      io,
      unrepresentable: 'any',
      target: 'draft-2020-12',
      override: dropSafeIntegerBounds,
    }) as Json;
    delete generated['$schema'];
    const defs = (generated['$defs'] ?? {}) as Record<string, Json>;
    delete generated['$defs'];
    // Named components keep their id (inputs get their own, as defaults make them differ); anonymous
    // ones (recursive JSON values) are named by their content.
    const renames = new Map<string, string>();
    for (const [name, def] of Object.entries(defs)) {
      if (!name.startsWith('__schema')) {
        renames.set(name, io === 'input' ? `${name}Input` : name);
        continue;
      }
      const normalised = normaliseAnonymous(name, def);
      renames.set(name, normalised === JSON_VALUE_DEF ? 'JsonValue' : `Schema${hash(normalised)}`);
    }
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (typeof value !== 'object' || value === null) return value;
      const out: Json = {};
      for (const [key, inner] of Object.entries(value)) {
        if (key === '$ref' && typeof inner === 'string' && inner.startsWith('#/$defs/')) {
          const name = inner.slice('#/$defs/'.length);
          out[key] = `#/components/schemas/${renames.get(name) ?? name}`;
        } else out[key] = rewrite(inner);
      }
      return out;
    };
    for (const [name, def] of Object.entries(defs)) {
      const target = renames.get(name) ?? name;
      this.components[target] ??= rewrite(def) as Json;
    }
    return rewrite(generated) as Json;
  }
}

/**
 * zod's `.int()` is a safe integer, so the generator writes ±(2^53−1) as the bounds of every integer
 * without its own: noise in the reference (a count or a version shown as "≤ 9007199254740991"). The
 * bounds a schema sets itself (`limit` 1–500, `min(0)`) stay; only the implicit ones go, here, for
 * every converted schema.
 */
function dropSafeIntegerBounds({ jsonSchema }: { jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  if (jsonSchema.type !== 'integer') return;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
}

function normaliseAnonymous(name: string, def: Json): string {
  return JSON.stringify(def).split(`"#/$defs/${name}"`).join('"#self"');
}

/** The anonymous definition zod emits for z.json(), normalised: recognised to be named `JsonValue`. */
const JSON_VALUE_DEF = (() => {
  const generated = z.toJSONSchema(z.object({ value: z.json() }), { io: 'output' }) as Json;
  const [entry] = Object.entries((generated['$defs'] ?? {}) as Record<string, Json>);
  return entry ? normaliseAnonymous(entry[0], entry[1]) : '';
})();

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  if (!schema) return {};
  if (schema instanceof z.ZodObject) return schema.shape as Record<string, z.ZodType>;
  return {};
}

function parameters(route: RpcRoute | RawRoute, converter: SchemaConverter): Json[] {
  const out: Json[] = [];
  const examples = OPERATION_EXAMPLES[route.operationId]?.parameters ?? {};
  const parameter = (name: string, where: 'path' | 'query', schema: z.ZodType, required: boolean): Json => ({
    name,
    in: where,
    required,
    schema: converter.convert(schema, 'input'),
    ...describe(schema),
    ...(examples[name] !== undefined ? { example: examples[name] } : {}),
  });
  const params = route.kind === 'rpc' ? route.params : undefined;
  for (const [name, schema] of Object.entries(objectShape(params)))
    out.push(parameter(name, 'path', schema, true));
  for (const [name, schema] of Object.entries(objectShape(route.query)))
    out.push(parameter(name, 'query', schema, !schema.safeParse(undefined).success));
  if (route.kind === 'rpc' && route.idempotent) out.push({ $ref: '#/components/parameters/IdempotencyKey' });
  return out;
}

function describe(schema: z.ZodType): Json {
  return schema.description ? { description: schema.description } : {};
}

function errorResponses(statuses: Iterable<number>): Json {
  const out: Json = {};
  for (const status of [...new Set(statuses)].sort())
    out[String(status)] = { $ref: `#/components/responses/Problem${status}` };
  return out;
}

/** The request body of an operation: one entry per content type, each with its example. */
function requestBody(operationId: string, schemas: Record<string, Json>): Json {
  const example = OPERATION_EXAMPLES[operationId];
  const content: Json = {};
  for (const [type, schema] of Object.entries(schemas)) {
    // A CSV body is text: only an example written as text fits it, never the JSON one.
    const value = example?.requestByType?.[type] ?? (type === 'text/csv' ? undefined : example?.request);
    content[type] = { schema, ...(value !== undefined ? { example: value } : {}) };
  }
  return { required: true, content };
}

function successExample(operationId: string): Json {
  const example = OPERATION_EXAMPLES[operationId];
  return example && example.response !== undefined ? { example: example.response } : {};
}

/**
 * Who may call an operation, always a list: caller kinds (`admin`, `agent`, `viewer`) or `public`
 * (no token). Finer rules (own role, own agent) are in the description.
 */
function accessOf(route: Route): string[] {
  return route.access === 'public' ? ['public'] : [...route.access];
}

/** What every operation states the same way: id, tag, summary, description, who may call it, parameters. */
function operationHeader(route: Route, converter: SchemaConverter): Json {
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    'x-orgmesh-access': accessOf(route),
    parameters: parameters(route, converter),
  };
}

function rpcOperation(route: RpcRoute, converter: SchemaConverter): Json {
  const operation: Json = {
    ...operationHeader(route, converter),
    responses: {
      [String(route.status)]: {
        description: STATUS_TEXT[route.status] ?? 'OK',
        content: {
          'application/json': {
            schema: converter.convert(route.response, 'output'),
            ...successExample(route.operationId),
          },
        },
      },
      ...errorResponses([...STANDARD_ERRORS, ...(route.errors ?? []), ...(route.body ? [413] : [])]),
    },
  };
  if (route.grpc) operation['x-orgmesh-grpc'] = `orgmesh.v1.${route.grpc.service}/${route.grpc.method}`;
  if (route.body) {
    const schemas: Record<string, Json> = { 'application/json': converter.convert(route.body, 'input') };
    if (route.alternateBodies?.['text/csv']) schemas['text/csv'] = { type: 'string' };
    operation['requestBody'] = requestBody(route.operationId, schemas);
  }
  return operation;
}

function rawOperation(route: RawRoute, converter: SchemaConverter): Json {
  const responses: Json = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const example = Number(status) < 300 ? successExample(route.operationId) : {};
    responses[status] = {
      description: response.description,
      ...(response.contentType
        ? {
            content: {
              [response.contentType]: response.schema
                ? { schema: converter.convert(response.schema, 'output'), ...example }
                : {},
            },
          }
        : {}),
    };
  }
  const operation: Json = {
    ...operationHeader(route, converter),
    responses: {
      ...responses,
      ...errorResponses([...(route.errors ?? []), 429, ...(route.requestBody ? [413] : [])]),
    },
  };
  if (route.access === 'public') operation['security'] = [];
  if (route.streamTicket) operation['security'] = [{ bearer: [] }, { streamTicket: [] }];
  if (route.requestBody) {
    const schemas: Record<string, Json> = {};
    for (const type of route.requestBody.contentTypes)
      schemas[type] = converter.convert(route.requestBody.schema, 'input');
    operation['requestBody'] = requestBody(route.operationId, schemas);
  }
  return operation;
}

const ProblemSchema: Json = {
  type: 'object',
  description:
    'RFC 9457 problem details. Error details are extension members (e.g. `issues`, `currentState`, `allowedEvents`).',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', description: '`urn:orgmesh:problem:<code>`' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: [...ERROR_CODES] },
    instance: { type: 'string' },
    issues: {
      type: 'array',
      description: 'Validation failures, one per field path (`body.agentId`, `query.limit`, `path.id`).',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    currentState: { type: 'string', description: 'An illegal transition: the state it was refused in.' },
    allowedEvents: {
      type: 'array',
      items: { type: 'string' },
      description: 'An illegal transition: the events that state accepts.',
    },
  },
  additionalProperties: true,
};

/** One path item per route path, one operation per method; the converter collects the schemas they refer to. */
function pathItems(routes: readonly Route[], converter: SchemaConverter): Record<string, Json> {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] =
      route.kind === 'rpc' ? rpcOperation(route, converter) : rawOperation(route, converter);
  }
  return paths;
}

/**
 * The shared problem+json responses, one per HTTP status the edge answers with: the error codes
 * each stands for (a timeout is a 503), the retry and challenge headers, an example problem.
 */
function problemResponses(): Json {
  const responses: Json = {};
  for (const status of [400, 401, 403, 404, 409, 413, 429, 503]) {
    const codes = ERROR_CODES.filter(
      (c) => httpStatusFor(c) === status || (status === 503 && c === 'timeout'),
    );
    const headers: Json = {};
    if (status === 429 || status === 503)
      headers['Retry-After'] = {
        description: 'Seconds to wait before retrying',
        schema: { type: 'integer' },
      };
    if (status === 401)
      headers['WWW-Authenticate'] = { description: 'Bearer challenge', schema: { type: 'string' } };
    responses[`Problem${status}`] = {
      description: `${STATUS_TEXT[status] ?? ''}. Codes: ${codes.map((c) => `\`${c}\` (${problemTitle(c)}, type ${problemType(c)})`).join(', ')}`,
      ...(Object.keys(headers).length ? { headers } : {}),
      content: {
        'application/problem+json': {
          schema: { $ref: '#/components/schemas/Problem' },
          example: problemExample(status, codes[0] ?? 'internal'),
        },
      },
    };
  }
  return responses;
}

export interface OpenApiOptions {
  serverUrl: string;
  version: string;
  /** The dev issuer's token endpoint (dev mode); absent in oidc mode, where the provider issues tokens. */
  tokenUrl?: string;
}

/** The OpenAPI 3.1 document of the REST surface, generated from the route table and the zod contracts. */
export function buildOpenApi(routes: readonly Route[], options: OpenApiOptions): Json {
  const converter = new SchemaConverter();
  const paths = pathItems(routes, converter);
  const responses = problemResponses();
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'orgmesh gateway',
      version: options.version,
      description: introduction(options),
      license: API_LICENSE,
    },
    servers: [{ url: options.serverUrl }],
    security: [{ bearer: [] }],
    // The tags the operations use, in the table's order.
    tags: Object.entries(ROUTE_TAGS)
      .filter(([name]) => routes.some((route) => route.tag === name))
      .map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: { Problem: ProblemSchema, ...converter.components },
      responses,
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'Repeat a create safely: the same key (per caller) returns the first result.',
          schema: { type: 'string', minLength: 1, maxLength: 200 },
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An access token from the built-in dev issuer (`POST /v1/auth/token`) or, in oidc mode, from your ' +
            'OpenID provider. See "First token, first call" above.',
        },
        streamTicket: {
          type: 'apiKey',
          in: 'query',
          name: 'ticket',
          description:
            'For a browser EventSource, which cannot send a header: a single-use ticket from ' +
            '`POST /v1/events/tickets` (30 s by default), accepted by `GET /v1/events` only.',
        },
      },
    },
  };
}
