import { describe, expect, it } from '@jest/globals';
import type { z } from 'zod';
import type { DevIdentity } from '../auth/identity.js';
import { devAuthRoutes } from '../auth/auth.routes.js';
import { whoamiRoute } from '../auth/whoami.route.js';
import type { EventHub } from '../events/event-hub.js';
import { eventsRoute, streamTicketsRoute } from '../events/events.route.js';
import type { StreamTickets } from '../events/stream-ticket.js';
import type { GatewayMetrics } from '../gateway.metrics.js';
import { API_ROUTES } from '../routes/index.js';
import { defineRawRoute, type Route } from '../routes/route.js';
import { OPERATION_EXAMPLES } from './examples.js';
import { buildOpenApi } from './openapi.js';

type Json = Record<string, any>;

// The route table as the gateway mounts it in dev mode; the hub and issuer are never called here
// (building the document reads the route definitions only).
const ROUTES: readonly Route[] = [
  ...API_ROUTES,
  eventsRoute({} as unknown as EventHub, { heartbeatMs: 15000, metrics: {} as unknown as GatewayMetrics }),
  streamTicketsRoute({} as unknown as StreamTickets, 30_000),
  whoamiRoute,
  ...devAuthRoutes({} as unknown as DevIdentity),
];
const SERVER = 'http://127.0.0.1:8080';
const doc: Json = buildOpenApi(ROUTES, {
  serverUrl: SERVER,
  version: '1.0.0',
  tokenUrl: `${SERVER}/v1/auth/token`,
});
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const operations = Object.values(doc['paths'] as Record<string, Json>).flatMap((item) =>
  METHODS.filter((m) => item[m]).map((m) => item[m] as Json),
);

function parses(schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return 'no schema';
  const result = schema.safeParse(value);
  return result.success ? true : result.error.issues;
}

function pick(
  values: Readonly<Record<string, unknown>>,
  schema: z.ZodType | undefined,
): Record<string, unknown> {
  const shape = (schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
  // Query and path values arrive as strings: the route's schemas coerce them.
  return Object.fromEntries(
    Object.entries(values)
      .filter(([name]) => name in shape)
      .map(([name, value]) => [name, String(value)]),
  );
}

describe('OpenAPI examples', () => {
  it('has an example for every route, and none for a route that does not exist', () => {
    const ids = ROUTES.map((r) => r.operationId).sort();
    expect(Object.keys(OPERATION_EXAMPLES).sort()).toEqual(ids);
  });

  it("parses every example with the route's own zod schemas (request, parameters, response)", () => {
    const failures: unknown[] = [];
    for (const route of ROUTES) {
      const example = OPERATION_EXAMPLES[route.operationId];
      if (!example) continue;
      const check = (what: string, result: unknown) => {
        if (result !== true) failures.push({ op: route.operationId, what, result });
      };
      const parameters = example.parameters ?? {};
      if (route.kind === 'rpc') {
        if (route.params) check('params', parses(route.params, pick(parameters, route.params)));
        if (route.query) check('query', parses(route.query, pick(parameters, route.query)));
        if (route.body) check('request', parses(route.body, example.request));
        check('response', parses(route.response, example.response));
      } else {
        if (route.query) check('query', parses(route.query, pick(parameters, route.query)));
        if (route.requestBody) check('request', parses(route.requestBody.schema, example.request));
        const success = Object.entries(route.responses).find(([status]) => Number(status) < 300)?.[1];
        check('response', parses(success?.schema, example.response));
      }
    }
    expect(failures).toEqual([]);
  });

  it('would notice an example that breaks its schema', () => {
    const createSession = ROUTES.find((r) => r.operationId === 'createSession');
    expect(createSession?.kind).toBe('rpc');
    if (createSession?.kind !== 'rpc') return;
    expect(
      parses(createSession.response, {
        ...(OPERATION_EXAMPLES['createSession']?.response as Json),
        version: -1,
      }),
    ).not.toBe(true);
  });
});

describe('OpenAPI document', () => {
  it('describes every operation and carries its examples into the document', () => {
    const missing: string[] = [];
    for (const op of operations) {
      const id = String(op['operationId']);
      if (!op['description']) missing.push(`${id}: description`);
      for (const [type, media] of Object.entries(
        (op['requestBody']?.['content'] ?? {}) as Record<string, Json>,
      ))
        if (media['example'] === undefined) missing.push(`${id}: request ${type}`);
      for (const [status, response] of Object.entries(op['responses'] as Record<string, Json>)) {
        if (Number(status) >= 300) continue;
        for (const [type, media] of Object.entries((response['content'] ?? {}) as Record<string, Json>))
          if (media['example'] === undefined) missing.push(`${id}: response ${status} ${type}`);
      }
      for (const parameter of (op['parameters'] ?? []) as Json[])
        if (parameter['in'] === 'path' && parameter['example'] === undefined)
          missing.push(`${id}: path parameter ${String(parameter['name'])}`);
    }
    expect(missing).toEqual([]);
  });

  it('lists 413 exactly where a request body exists', () => {
    for (const op of operations) {
      expect({ op: op['operationId'], has413: '413' in op['responses'] }).toEqual({
        op: op['operationId'],
        has413: op['requestBody'] !== undefined,
      });
    }
  });

  it('types x-orgmesh-access one way: a list of caller kinds, or ["public"] without a token', () => {
    for (const op of operations) {
      const access = op['x-orgmesh-access'];
      expect(Array.isArray(access) && access.length > 0).toBe(true);
      for (const kind of access as unknown[])
        expect(['admin', 'agent', 'person', 'viewer', 'public']).toContain(kind);
      expect((access as string[]).includes('public')).toBe(
        Array.isArray(op['security']) && op['security'].length === 0,
      );
    }
  });

  it('drops the implicit ±(2^53−1) bounds of integers and keeps the ones a schema sets', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toContain(String(Number.MAX_SAFE_INTEGER));
    expect(text).not.toContain(String(Number.MIN_SAFE_INTEGER));
    const limit = (doc['paths']['/v1/sessions']['get']['parameters'] as Json[]).find(
      (p) => p['name'] === 'limit',
    );
    expect(limit?.['schema']).toMatchObject({ type: 'integer', minimum: 1, maximum: 500 });
    const version = doc['components']['schemas']['Session']['properties']['version'] as Json;
    expect(version).toMatchObject({ type: 'integer', minimum: 0 });
    expect(version).not.toHaveProperty('maximum');
  });

  it('states the default of every limit: the page size a list uses when the caller names none', () => {
    const limits = Object.entries(doc['paths'] as Record<string, Json>).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).flatMap((m) =>
        ((item[m]['parameters'] ?? []) as Json[])
          .filter((p) => p['name'] === 'limit')
          .map((p) => ({ path, default: p['schema']?.['default'], required: p['required'] })),
      ),
    );
    expect(limits.length).toBeGreaterThanOrEqual(8);
    for (const limit of limits) expect(limit).toMatchObject({ default: expect.any(Number), required: false });
    expect(limits.find((l) => l.path === '/v1/tasks')?.default).toBe(50);
    expect(limits.find((l) => l.path === '/v1/agents')?.default).toBe(100);
    // The handler gets the same number from the parsed query.
    const listTasks = ROUTES.find((r) => r.operationId === 'listTasks');
    const query = (listTasks as { query?: z.ZodType }).query?.parse({});
    expect(query).toMatchObject({ limit: 50 });
  });

  it('uses every security scheme it declares, and names a licence', () => {
    const declared = Object.keys(doc['components']['securitySchemes']);
    const used = new Set(
      [doc['security'], ...operations.map((op) => op['security'])]
        .flat()
        .filter(Boolean)
        .flatMap((requirement: Json) => Object.keys(requirement)),
    );
    expect(declared.filter((name) => !used.has(name))).toEqual([]);
    expect(doc['info']['license']).toMatchObject({
      name: expect.any(String),
      identifier: expect.any(String),
    });
  });

  it('describes exactly the tags its operations use', () => {
    const used = [...new Set(operations.flatMap((op) => op['tags'] as string[]))].sort();
    const declared = (doc['tags'] as Array<{ name: string; description: string }>).map((t) => t.name).sort();
    expect(declared).toEqual(used);
    for (const tag of doc['tags'] as Array<{ description: string }>) expect(tag.description).not.toBe('');
    // A2A and console routes are described too when mounted (they were once left out of the list).
    const withA2a = buildOpenApi(
      [
        defineRawRoute({
          operationId: 'a2aCard',
          method: 'GET',
          path: '/a2a/card',
          tag: 'a2a',
          summary: 'card',
          access: 'public',
          responses: {},
          handle: async () => undefined,
        }),
      ],
      { serverUrl: SERVER, version: '1.0.0' },
    ) as Json;
    expect(withA2a['tags']).toEqual([{ name: 'a2a', description: expect.stringContaining('A2A') }]);
  });

  it('opens with how to get a first token in dev mode and in oidc mode', () => {
    const dev = String(doc['info']['description']);
    expect(dev).toContain('## First token, first call');
    expect(dev).toContain(`${SERVER}/v1/auth/token`);
    expect(dev).toContain('admin-dev-secret');
    const oidc = String(
      (buildOpenApi(ROUTES, { serverUrl: SERVER, version: '1.0.0' }) as Json)['info']['description'],
    );
    expect(oidc).toContain('oidc mode');
    expect(oidc).not.toContain('admin-dev-secret');
  });
});
