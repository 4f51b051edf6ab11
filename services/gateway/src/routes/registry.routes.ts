import { z } from 'zod';
import {
  AppError,
  AgentId,
  AgentPresence,
  ConfigFormat,
  ConfigHash,
  ProfileId,
  RegistryRpc,
  RoleId,
  UserId,
  defineCursor,
  sendOrgImport,
  type RpcDefinition,
  type RpcRequestInput,
} from '@orgmesh/contracts';
import { requireSelf } from '../auth/caller.js';
import { pageQuery, queryBoolean } from './pagination.js';
import {
  ADMINS,
  ALL_KINDS,
  STAFF,
  WRITERS,
  defineRoute,
  forwardRoute,
  type Route,
  type RouteInput,
  type RpcRoute,
} from './route.js';

const AgentParams = z.object({ id: AgentId.describe('Agent id') });
const UserParams = z.object({ id: UserId.describe('User id (org chart)') });

/**
 * The cursor of `GET /v1/users`: the registry's `nextAfter` (the last user id of the page) and the
 * org version the page was read from, so a page of another version is refused, not spliced on.
 */
const UsersCursor = defineCursor(
  z.strictObject({ a: UserId, v: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) }),
);

function orgChanged(paged: number, current: number): AppError {
  return new AppError(
    'conflict',
    'the org chart was imported again while paging: start again without a cursor',
    {
      details: { pagedOrgVersion: paged, orgVersion: current },
    },
  );
}

/**
 * The import's body: a whole CSV. The registry's chunked form (`upload`) is the gateway's to send
 * (sendOrgImport), not the client's.
 */
const ImportOrgBody = z.object({
  csv: RegistryRpc.ImportOrg.request.shape.csv.unwrap(),
  fileName: RegistryRpc.ImportOrg.request.shape.fileName,
});

/** A registry route as written in the table below: its Registry gRPC method instead of the binding. */
type RegistryRouteDoc<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> = Omit<
  RpcRoute<P, Q, B, R>,
  'kind' | 'tag' | 'status' | 'grpc'
> & { grpcMethod: string };

/** What every registry route shares: the tag, 200, and the Registry gRPC method it also answers as. */
function registryRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>({
  grpcMethod,
  ...route
}: RegistryRouteDoc<P, Q, B, R>): Route {
  return defineRoute<P, Q, B, R>({
    ...route,
    tag: 'registry',
    status: 200,
    grpc: { service: 'Registry', method: grpcMethod },
  });
}

/** Most registry routes are one registry RPC (forwardRoute), with what every registry route shares. */
function registryForward<Rpc extends RpcDefinition, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  rpc: Rpc,
  { grpcMethod, ...doc }: Omit<RegistryRouteDoc<P, Q, B, Rpc['response']>, 'response' | 'handle'> & {
    request(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): RpcRequestInput<Rpc>;
  },
): Route {
  return forwardRoute<Rpc, P, Q, B>(rpc, {
    ...doc,
    tag: 'registry',
    status: 200,
    grpc: { service: 'Registry', method: grpcMethod },
  });
}

export const registryRoutes: Route[] = [
  registryForward(RegistryRpc.ListAgents, {
    operationId: 'listAgents',
    method: 'GET',
    path: '/v1/agents',
    summary: 'List agents with their presence',
    description:
      'The agents of the registry, each with its presence (online, last heartbeat, reported configuration hash, ' +
      'drift). Filter by `role` or `online`; `version` is the registry version the list was read at.',
    access: ALL_KINDS,
    query: z.object({ role: RoleId.optional(), online: queryBoolean(), ...pageQuery(100) }),
    grpcMethod: 'ListAgents',
    request: ({ query }) => query,
  }),
  registryForward(RegistryRpc.GetAgent, {
    operationId: 'getAgent',
    method: 'GET',
    path: '/v1/agents/{id}',
    summary: 'Get an agent with its effective profile, presence and drift',
    description:
      'The agent as declared, the profile in effect for it, its presence, and the configuration hash expected for ' +
      'each client format (what a heartbeat is compared with).',
    access: ALL_KINDS,
    params: AgentParams,
    errors: [404],
    grpcMethod: 'GetAgent',
    request: ({ params }) => ({ agentId: params.id }),
  }),
  registryForward(RegistryRpc.RenderConfig, {
    operationId: 'renderAgentConfig',
    method: 'GET',
    path: '/v1/agents/{id}/config',
    summary: "Render an agent's client configuration",
    description:
      'The ready-to-run files for Claude Code or Goose and their hash. An agent may fetch its own only.',
    access: ALL_KINDS,
    params: AgentParams,
    query: z.object({ format: ConfigFormat }),
    errors: [404],
    grpcMethod: 'RenderConfig',
    request({ params, query, caller }) {
      requireSelf(caller, params.id, 'the configuration');
      return { agentId: params.id, format: query.format };
    },
  }),
  registryRoute({
    operationId: 'getAgentDrift',
    method: 'GET',
    path: '/v1/agents/{id}/drift',
    summary: 'Does the agent run the configuration it is declared with?',
    description:
      '`drift` is true when the configuration hash the agent last reported in its heartbeat differs from the one the ' +
      'registry expects for it (`expectedConfigHashes`).',
    access: ALL_KINDS,
    params: AgentParams,
    response: z.object({
      agentId: AgentId,
      drift: z.boolean(),
      online: z.boolean(),
      lastSeenAt: AgentPresence.shape.lastSeenAt,
      reportedConfigHash: ConfigHash.nullable(),
      expectedConfigHashes: RegistryRpc.GetAgent.response.shape.expectedConfigHashes,
      version: z.number().int().positive(),
    }),
    errors: [404],
    grpcMethod: 'GetAgentDrift',
    async handle({ params, call }) {
      const { presence, expectedConfigHashes, version } = await call(RegistryRpc.GetAgent, {
        agentId: params.id,
      });
      return {
        agentId: params.id,
        drift: presence.drift,
        online: presence.online,
        lastSeenAt: presence.lastSeenAt,
        reportedConfigHash: presence.reportedConfigHash,
        expectedConfigHashes,
        version,
      };
    },
  }),
  registryForward(RegistryRpc.AgentHeartbeat, {
    operationId: 'agentHeartbeat',
    method: 'POST',
    path: '/v1/agents/{id}/heartbeat',
    summary: 'Report that the agent is alive and which configuration it runs',
    description:
      'An agent reports for itself only. A hash that differs from the rendered configuration is drift.',
    access: WRITERS,
    params: AgentParams,
    body: RegistryRpc.AgentHeartbeat.request.omit({ agentId: true }),
    errors: [404],
    grpcMethod: 'Heartbeat',
    request({ params, body, caller }) {
      requireSelf(caller, params.id, 'the heartbeat');
      return { agentId: params.id, ...body };
    },
  }),
  registryForward(RegistryRpc.GetProfile, {
    operationId: 'getProfiles',
    method: 'GET',
    path: '/v1/profiles',
    summary: "A role's default profile",
    description:
      'With its signed published form (`jws`). The registry has no profile listing yet, so `role` is required.',
    access: ALL_KINDS,
    query: z.object({ role: RoleId }),
    errors: [404],
    grpcMethod: 'GetRoleProfile',
    request: ({ query }) => ({ role: query.role }),
  }),
  registryForward(RegistryRpc.GetProfile, {
    operationId: 'getProfile',
    method: 'GET',
    path: '/v1/profiles/{id}',
    summary: 'A profile by id',
    description:
      "A role profile (providers and models, privacy rules, mesh permissions, tools) with the registry's signature: `jws` " +
      'is the signed profile and `jwks` the keys that verify it.',
    access: ALL_KINDS,
    params: z.object({ id: ProfileId }),
    errors: [404],
    grpcMethod: 'GetProfile',
    request: ({ params }) => ({ profileId: params.id }),
  }),
  registryRoute({
    operationId: 'listUsers',
    method: 'GET',
    path: '/v1/users',
    summary: "The org chart's people (admin)",
    description:
      'Personal data: admins only. The registry verifies the forwarded admin token itself (issue 18): the bus lets ' +
      'only the privacy proxy read the directory otherwise. Ordered by user id; each page is one page of the ' +
      "registry's directory (ADR 0013), so any org size pages through. A re-import between two pages is 409 " +
      '`conflict`: start again without a cursor.',
    access: ADMINS,
    query: z.object({ ...pageQuery(100) }),
    response: z.object({
      items: RegistryRpc.GetAdminDirectory.response.shape.people,
      nextCursor: z.string().nullable(),
      orgVersion: z.number().int().nonnegative(),
    }),
    errors: [409],
    grpcMethod: 'ListUsers',
    async handle({ query, call }) {
      const from = query.cursor === undefined ? undefined : UsersCursor.decode(query.cursor);
      const directory = await call(RegistryRpc.GetAdminDirectory, {
        after: from?.a,
        limit: query.limit,
      });
      if (from && directory.orgVersion !== from.v) throw orgChanged(from.v, directory.orgVersion);
      const nextCursor =
        directory.nextAfter === undefined
          ? null
          : UsersCursor.encode({ a: directory.nextAfter, v: directory.orgVersion });
      return { items: directory.people, nextCursor, orgVersion: directory.orgVersion };
    },
  }),
  registryForward(RegistryRpc.GetManager, {
    operationId: 'getUser',
    method: 'GET',
    path: '/v1/users/{id}',
    summary: 'A user and their manager',
    description: 'Personal data: admins and viewers only.',
    access: STAFF,
    params: UserParams,
    errors: [404],
    grpcMethod: 'GetUser',
    request: ({ params }) => ({ userId: params.id }),
  }),
  registryForward(RegistryRpc.AssignProfile, {
    operationId: 'assignProfile',
    method: 'PUT',
    path: '/v1/users/{id}/profile',
    summary: "Assign a profile of the user's role (admin)",
    description:
      "Assigns one of the profiles of the user's role to the user. A profile of another role is refused; an unknown " +
      'user or profile is 404.',
    access: ADMINS,
    params: UserParams,
    body: RegistryRpc.AssignProfile.request.omit({ userId: true }),
    idempotent: true,
    errors: [404],
    grpcMethod: 'AssignProfile',
    request: ({ params, body }) => ({ userId: params.id, ...body }),
  }),
  registryRoute({
    operationId: 'importOrg',
    method: 'POST',
    path: '/v1/org/import',
    summary: 'Replace the org chart from a CSV (admin)',
    description:
      'Body: `text/csv` (`user_id,reports_to_id,name,role,email,department`) or JSON `{csv, fileName?}`, up to ' +
      'GATEWAY_MAX_IMPORT_BYTES (20 MiB by default; 100,000 people take about 9 MB). A CSV past one NATS message ' +
      'is sent to the registry in parts and committed as one import (ADR 0013). All-or-nothing: cycles, unknown ' +
      'roles or managers and duplicate emails are 400 with `problems` naming the lines.',
    access: ADMINS,
    body: ImportOrgBody,
    alternateBodies: { 'text/csv': (text) => ({ csv: text }) },
    largeBody: true,
    idempotent: true,
    response: RegistryRpc.ImportOrg.response,
    grpcMethod: 'ImportOrg',
    async handle({ body, call }) {
      return sendOrgImport(body.csv, body.fileName, {
        part: (request) => call(RegistryRpc.ImportOrgPart, request),
        commit: (request) => call(RegistryRpc.ImportOrg, request),
      });
    },
  }),
  registryForward(RegistryRpc.LoadRegistry, {
    operationId: 'loadRegistry',
    method: 'PUT',
    path: '/v1/registry',
    summary: 'Replace the registry (agents, roles, profiles) from its source files (admin)',
    description:
      'Validated and stored atomically as a new version; invalid files are 400 with `problems` ({file, path, reason}). ' +
      'Identical content is a no-op.',
    access: ADMINS,
    body: RegistryRpc.LoadRegistry.request,
    largeBody: true,
    idempotent: true,
    grpcMethod: 'LoadRegistry',
    request: ({ body }) => body,
  }),
];
