import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Session, Task } from '@orgmesh/contracts';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import { testConfig as meshTestConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import { startTestRegistry, DEMO_ORG_CHART, demoFiles } from '@orgmesh/registry/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, silentLogger, startTestGateway, startUsageResponder } from './gateway-harness.js';
import { OPENAPI_31_SCHEMA } from './openapi-3.1.schema.js';

type Json = Record<string, any>;
type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;
type MeshApp = Awaited<ReturnType<typeof startMeshRouterApp>>;
type RegistryApp = Awaited<ReturnType<typeof startTestRegistry>>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, key) => (node && typeof node === 'object' ? (node as Json)[key] : undefined),
      doc,
    );
}

function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push(value);
      else collectRefs(value, out);
    }
  }
  return out;
}

function pointer(...parts: string[]): string {
  return `#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

function operations(doc: Json): Array<{ path: string; method: string; op: Json }> {
  return Object.entries(doc['paths'] as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] as Json })),
  );
}

describe('OpenAPI document', () => {
  let ctx: TestContext;
  let sessions: SessionsApp;
  let mesh: MeshApp;
  let registry: RegistryApp;
  let gateway: GatewayApp;
  let doc: Json;
  let usage: { close(): Promise<void> };
  let admin: string;
  let finance: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    sessions = await startTestSessions(ctx);
    // A person of the org chart as a dev client (issue 23): the approvals delegation is theirs only.
    gateway = await startTestGateway(ctx, { AUTH_DEV_CLIENTS: 'u00002:person:person' });
    // The real mesh router and registry, trusting the gateway's built-in issuer through its JWKS endpoint.
    registry = await startTestRegistry(ctx, { overrides: { REGISTRY_AUTH: 'on', AUTH_ISSUER: gateway.url } });
    mesh = await startMeshRouterApp(meshTestConfig(ctx, { AUTH_ISSUER: gateway.url }), {
      logger: silentLogger,
      migrate: true,
      startJobs: false,
    });
    // GET /v1/usage is the privacy proxy's rpc.privacy.v1.get-usage: its real handler and token check.
    usage = await startUsageResponder(ctx, gateway);
    [admin, finance] = await Promise.all([devToken(gateway, 'admin'), devToken(gateway, 'finance-agent')]);
    const res = await api(gateway, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });

  afterAll(async () => {
    await usage?.close();
    await gateway?.close();
    await mesh?.close();
    await registry?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  it('validates as OpenAPI 3.1 against the assembled schema', () => {
    const validate = newAjv().compile(OPENAPI_31_SCHEMA);
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(doc['openapi']).toBe('3.1.0');
  });

  it('is refused by the same schema when it breaks the specification (the check can fail)', () => {
    const validate = newAjv().compile(OPENAPI_31_SCHEMA);
    const broken = (mutate: (d: Json) => void) => {
      const copy = structuredClone(doc);
      mutate(copy);
      return validate(copy);
    };
    expect(broken((d) => (d['openapi'] = '3.0.3'))).toBe(false);
    expect(broken((d) => delete d['info']['version'])).toBe(false);
    expect(broken((d) => (d['paths']['/v1/sessions/{id}']['get']['parameters'][0]['required'] = false))).toBe(
      false,
    );
    expect(
      broken((d) => (d['paths']['/v1/sessions']['post']['responses']['2000'] = { description: 'x' })),
    ).toBe(false);
    expect(
      broken(
        (d) =>
          (d['paths']['/v1/sessions']['post']['responses']['201']['content']['application/json']['schema'] = {
            type: 'bogus',
          }),
      ),
    ).toBe(false);
    expect(broken((d) => (d['paths']['/v1/sessions']['post']['summery'] = 'typo'))).toBe(false);
  });

  it('keeps the invariants JSON Schema cannot express: references resolve, path templates match parameters, unique operationIds', () => {
    const dangling = collectRefs(doc).filter((ref) => resolvePointer(doc, ref) === undefined);
    expect(dangling).toEqual([]);

    const ids = operations(doc).map(({ op }) => op['operationId']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);

    for (const { path, method, op } of operations(doc)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const params = (op['parameters'] ?? []).map((p: Json) =>
        p['$ref'] ? resolvePointer(doc, p['$ref']) : p,
      ) as Json[];
      const declared = params
        .filter((p) => p['in'] === 'path')
        .map((p) => p['name'])
        .sort();
      expect({ op: `${method} ${path}`, declared }).toEqual({ op: `${method} ${path}`, declared: templated });
      const keys = params.map((p) => `${p['in']}:${p['name']}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(Object.keys(op['responses']).some((code) => /^2/.test(code))).toBe(true);
    }
  });

  it('compiles every schema, with its component references, as JSON Schema 2020-12', () => {
    const ajv = newAjv();
    ajv.addSchema({ ...doc, $id: 'urn:orgmesh:openapi' });
    let compiled = 0;
    for (const { path, method, op } of operations(doc)) {
      const targets: string[] = [];
      for (const [type] of Object.entries(op['requestBody']?.['content'] ?? {}))
        targets.push(pointer('paths', path, method, 'requestBody', 'content', type, 'schema'));
      for (const [code, response] of Object.entries(op['responses'] as Record<string, Json>)) {
        for (const type of Object.keys(response['content'] ?? {})) {
          if (response['content'][type]['schema'])
            targets.push(pointer('paths', path, method, 'responses', code, 'content', type, 'schema'));
        }
      }
      for (const target of targets) {
        ajv.compile({ $ref: `urn:orgmesh:openapi${target}` });
        compiled++;
      }
    }
    for (const name of Object.keys(doc['components']['schemas'])) {
      ajv.compile({ $ref: `urn:orgmesh:openapi${pointer('components', 'schemas', name)}` });
      compiled++;
    }
    expect(compiled).toBeGreaterThan(40);
  });

  it('documents the core shapes of ARCHITECTURE §9', () => {
    const session = doc['components']['schemas']['Session'];
    for (const field of [
      'id',
      'agentId',
      'role',
      'contextId',
      'status',
      'version',
      'createdAt',
      'updatedAt',
      'lastTransitionAt',
      'pausedAt',
      'completedAt',
      'failedAt',
      'expiredAt',
      'metadata',
    ]) {
      expect(session['required']).toContain(field);
    }
    const task = doc['components']['schemas']['Task'];
    for (const field of ['id', 'kind', 'from', 'to', 'state', 'contextId', 'createdAt'])
      expect(task['required']).toContain(field);
    expect(
      doc['paths']['/v1/sessions/{id}/events']['put']['requestBody']['content']['application/json']['schema'][
        'required'
      ],
    ).toEqual(['event']);
    expect(doc['paths']['/v1/tasks']['post']['responses']).toHaveProperty('202');
    expect(doc['paths']['/v1/auth/token']['post']['requestBody']['content']).toHaveProperty([
      'application/x-www-form-urlencoded',
    ]);
    expect(doc['paths']['/v1/events']['get']['responses']['200']['content']).toHaveProperty([
      'text/event-stream',
    ]);
    expect(doc['components']['responses']['Problem409']['content']).toHaveProperty([
      'application/problem+json',
    ]);
  });

  it('answers every documented route (never 404, 405 or 501; with real fixtures, 2xx), and bodies match the documented schemas', async () => {
    // Real fixtures, so every operation can succeed: a session, tasks in the states each operation needs, the org chart.
    const manager = await devToken(gateway, 'manager-agent');
    const legal = await devToken(gateway, 'legal-agent');
    const { body: session } = await api<Session>(gateway, 'POST', '/v1/sessions', {
      token: finance,
      body: { agentId: 'finance-agent' },
    });
    const approval = (
      await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: finance,
        body: { to: 'manager', subject: 'fixture' },
      })
    ).body;
    const toUpdate = (
      await api<Task>(gateway, 'POST', '/v1/tasks', {
        token: manager,
        body: { to: 'legal', type: 'fixture' },
      })
    ).body;
    const toCancel = (
      await api<Task>(gateway, 'POST', '/v1/tasks', {
        token: manager,
        body: { to: 'legal', type: 'fixture' },
      })
    ).body;
    const csv = readFileSync(DEMO_ORG_CHART, 'utf8');
    expect(
      (
        await api(gateway, 'POST', '/v1/org/import', {
          token: admin,
          rawBody: csv,
          headers: { 'content-type': 'text/csv' },
        })
      ).status,
    ).toBe(200);
    // A person's delegation, for the operation that revokes one.
    const person = await devToken(gateway, 'u00002');
    const given = await api<{ id: string }>(gateway, 'POST', '/v1/approvals/delegations', {
      token: person,
      body: { to: 'u00001', endsAt: new Date(Date.now() + 86_400_000).toISOString() },
    });
    expect(given.status).toBe(201);
    const user = (await api(gateway, 'GET', '/v1/users/u00004', { token: admin })).body.user as {
      userId: string;
      role: string;
    };
    const profile = (await api(gateway, 'GET', `/v1/profiles?role=${user.role}`, { token: admin })).body
      .profile as { id: string };
    const samples: Record<
      string,
      { params?: Record<string, string>; query?: string; body?: unknown; token?: string }
    > = {
      createSession: { body: { agentId: 'finance-agent', role: 'finance' } },
      getSession: { params: { id: session.id } },
      applySessionEvent: { params: { id: session.id }, body: { event: 'activate' } },
      listSessionTransitions: { params: { id: session.id } },
      sendTask: { body: { to: 'legal', type: 'review', input: { doc: 1 } }, token: manager },
      requestApproval: { body: { to: 'manager', subject: 'budget' }, token: finance },
      notify: { body: { to: 'manager', message: 'hello' }, token: finance },
      getTask: { params: { id: toUpdate.id }, token: manager },
      updateTask: { params: { id: toUpdate.id }, body: { state: 'working' }, token: legal },
      decideTask: { params: { id: approval.id }, body: { decision: 'approve' }, token: manager },
      cancelTask: { params: { id: toCancel.id }, body: { reason: 'fixture' }, token: manager },
      getAgent: { params: { id: 'finance-agent' } },
      renderAgentConfig: { params: { id: 'finance-agent' }, query: 'format=goose' },
      getAgentDrift: { params: { id: 'finance-agent' } },
      agentHeartbeat: {
        params: { id: 'finance-agent' },
        body: { configHash: `sha256:${'0'.repeat(64)}` },
        token: finance,
      },
      getProfiles: { query: 'role=finance' },
      getProfile: { params: { id: profile.id } },
      getUser: { params: { id: user.userId } },
      assignProfile: { params: { id: user.userId }, body: { profileId: profile.id } },
      importOrg: { body: { csv, fileName: 'org-chart.csv' } },
      loadRegistry: { body: { files: await demoFiles() } },
      delegateApprovals: {
        body: { to: 'u00003', endsAt: new Date(Date.now() + 86_400_000).toISOString() },
        token: person,
      },
      listDelegations: { token: person },
      revokeDelegation: { params: { id: given.body.id }, token: person },
      issueToken: {
        body: { grant_type: 'client_credentials', client_id: 'viewer', client_secret: 'viewer-dev-secret' },
      },
    };
    const ajv = newAjv();
    ajv.addSchema({ ...doc, $id: 'urn:orgmesh:openapi' });
    const answers: Array<{ op: string; status: number }> = [];
    for (const { path, method, op } of operations(doc)) {
      const sample = samples[op['operationId']] ?? {};
      const url =
        path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(sample.params?.[name] ?? 'x')) +
        (sample.query ? `?${sample.query}` : '');
      const token = sample.token ?? admin;
      let status: number;
      let body: unknown;
      let contentType = '';
      if (op['operationId'] === 'subscribeEvents') {
        const controller = new AbortController();
        const res = await fetch(`${gateway.url}${url}`, {
          headers: { authorization: `Bearer ${token}` },
          signal: controller.signal,
        });
        status = res.status;
        contentType = res.headers.get('content-type') ?? '';
        controller.abort();
      } else {
        const res = await api(gateway, method.toUpperCase(), url, {
          token,
          body: sample.body ?? (['post', 'put', 'patch'].includes(method) ? {} : undefined),
        });
        status = res.status;
        body = res.body;
        contentType = res.headers.get('content-type') ?? '';
        const documented = op['responses'][String(status)]?.['content']?.['application/json']?.['schema'];
        if (status < 300 && documented) {
          const validate = ajv.compile({
            $ref: `urn:orgmesh:openapi${pointer('paths', path, method, 'responses', String(status), 'content', 'application/json', 'schema')}`,
          });
          expect({ op: op['operationId'], valid: validate(body), errors: validate.errors }).toEqual({
            op: op['operationId'],
            valid: true,
            errors: null,
          });
        }
      }
      answers.push({ op: `${method.toUpperCase()} ${path}`, status });
      // A route the router does not know is a generic not_found; a domain 404 (session_not_found…) is an answer.
      const routerMiss = status === 404 && (body as Json | undefined)?.['code'] === 'not_found';
      expect({
        op: `${method} ${path}`,
        routerMiss,
        notAllowedOrImplemented: [405, 501].includes(status),
      }).toEqual({
        op: `${method} ${path}`,
        routerMiss: false,
        notAllowedOrImplemented: false,
      });
      expect(contentType).not.toBe('');
      if (status >= 400) expect(contentType).toBe('application/problem+json');
    }
    expect(answers.length).toBe(operations(doc).length);
    // With every service running and real fixtures, every documented operation succeeds.
    expect(answers.filter((a) => a.status >= 300)).toEqual([]);
  });
});
