import { z } from 'zod';
import {
  AppError,
  AgentId,
  AgentPresence,
  ConfigFormat,
  ConfigHash,
  OrgUser,
  ProfileId,
  RegistryRpc,
  RoleId,
  UserId,
  defineCursor,
  sendOrgImport,
} from '@orgmesh/contracts';
import { requireSelf } from '../auth/caller.js';
import { PageQuery, queryBoolean } from './pagination.js';
import { ADMINS, ALL_KINDS, STAFF, WRITERS, defineRoute, type Route } from './route.js';

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

export const registryRoutes: Route[] = [
  defineRoute({
    operationId: 'listAgents',
    method: 'GET',
    path: '/v1/agents',
    tag: 'registry',
    summary: 'List agents with their presence',
    description:
      'The agents of the registry, each with its presence (online, last heartbeat, reported configuration hash, ' +
      'drift). Filter by `role` or `online`; `version` is the registry version the list was read at.',
    access: ALL_KINDS,
    query: z.object({ role: RoleId.optional(), online: queryBoolean(), ...PageQuery }),
    status: 200,
    response: RegistryRpc.ListAgents.response,
    grpc: { service: 'Registry', method: 'ListAgents' },
    async handle({ query, call }) {
      return call(RegistryRpc.ListAgents, { ...query, limit: query.limit ?? 100 });
    },
  }),
  defineRoute({
    operationId: 'getAgent',
    method: 'GET',
    path: '/v1/agents/{id}',
    tag: 'registry',
    summary: 'Get an agent with its effective profile, presence and drift',
    description:
      'The agent as declared, the profile in effect for it, its presence, and the configuration hash expected for ' +
      'each client format (what a heartbeat is compared with).',
    access: ALL_KINDS,
    params: AgentParams,
    status: 200,
    response: RegistryRpc.GetAgent.response,
    errors: [404],
    grpc: { service: 'Registry', method: 'GetAgent' },
    async handle({ params, call }) {
      return call(RegistryRpc.GetAgent, { agentId: params.id });
    },
  }),
  defineRoute({
    operationId: 'renderAgentConfig',
    method: 'GET',
    path: '/v1/agents/{id}/config',
    tag: 'registry',
    summary: "Render an agent's client configuration",
    description:
      'The ready-to-run files for Claude Code or Goose and their hash. An agent may fetch its own only.',
    access: ALL_KINDS,
    params: AgentParams,
    query: z.object({ format: ConfigFormat }),
    status: 200,
    response: RegistryRpc.RenderConfig.response,
    errors: [404],
    grpc: { service: 'Registry', method: 'RenderConfig' },
    async handle({ params, query, caller, call }) {
      requireSelf(caller, params.id, 'the configuration');
      return call(RegistryRpc.RenderConfig, { agentId: params.id, format: query.format });
    },
  }),
  defineRoute({
    operationId: 'getAgentDrift',
    method: 'GET',
    path: '/v1/agents/{id}/drift',
    tag: 'registry',
    summary: 'Does the agent run the configuration it is declared with?',
    description:
      '`drift` is true when the configuration hash the agent last reported in its heartbeat differs from the one the ' +
      'registry expects for it (`expectedConfigHashes`).',
    access: ALL_KINDS,
    params: AgentParams,
    status: 200,
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
    grpc: { service: 'Registry', method: 'GetAgentDrift' },
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
  defineRoute({
    operationId: 'agentHeartbeat',
    method: 'POST',
    path: '/v1/agents/{id}/heartbeat',
    tag: 'registry',
    summary: 'Report that the agent is alive and which configuration it runs',
    description:
      'An agent reports for itself only. A hash that differs from the rendered configuration is drift.',
    access: WRITERS,
    params: AgentParams,
    body: RegistryRpc.AgentHeartbeat.request.omit({ agentId: true }),
    status: 200,
    response: RegistryRpc.AgentHeartbeat.response,
    errors: [404],
    grpc: { service: 'Registry', method: 'Heartbeat' },
    async handle({ params, body, caller, call }) {
      requireSelf(caller, params.id, 'the heartbeat');
      return call(RegistryRpc.AgentHeartbeat, { agentId: params.id, ...body });
    },
  }),
  defineRoute({
    operationId: 'getProfiles',
    method: 'GET',
    path: '/v1/profiles',
    tag: 'registry',
    summary: "A role's default profile",
    description:
      'With its signed published form (`jws`). The registry has no profile listing yet, so `role` is required.',
    access: ALL_KINDS,
    query: z.object({ role: RoleId }),
    status: 200,
    response: RegistryRpc.GetProfile.response,
    errors: [404],
    grpc: { service: 'Registry', method: 'GetRoleProfile' },
    async handle({ query, call }) {
      return call(RegistryRpc.GetProfile, { role: query.role });
    },
  }),
  defineRoute({
    operationId: 'getProfile',
    method: 'GET',
    path: '/v1/profiles/{id}',
    tag: 'registry',
    summary: 'A profile by id',
    description:
      "A role profile (providers and models, privacy rules, mesh permissions, tools) with the registry's signature: `jws` " +
      'is the signed profile and `jwks` the keys that verify it.',
    access: ALL_KINDS,
    params: z.object({ id: ProfileId }),
    status: 200,
    response: RegistryRpc.GetProfile.response,
    errors: [404],
    grpc: { service: 'Registry', method: 'GetProfile' },
    async handle({ params, call }) {
      return call(RegistryRpc.GetProfile, { profileId: params.id });
    },
  }),
  defineRoute({
    operationId: 'listUsers',
    method: 'GET',
    path: '/v1/users',
    tag: 'registry',
    summary: "The org chart's people (admin)",
    description:
      'Personal data: admins only. The registry verifies the forwarded admin token itself (issue 18): the bus lets ' +
      'only the privacy proxy read the directory otherwise. Ordered by user id; each page is one page of the ' +
      "registry's directory (ADR 0013), so any org size pages through. A re-import between two pages is 409 " +
      '`conflict`: start again without a cursor.',
    access: ADMINS,
    query: z.object({ ...PageQuery }),
    status: 200,
    response: z.object({
      items: RegistryRpc.GetAdminDirectory.response.shape.people,
      nextCursor: z.string().nullable(),
      orgVersion: z.number().int().nonnegative(),
    }),
    errors: [409],
    grpc: { service: 'Registry', method: 'ListUsers' },
    async handle({ query, call }) {
      const from = query.cursor === undefined ? undefined : UsersCursor.decode(query.cursor);
      const directory = await call(RegistryRpc.GetAdminDirectory, {
        after: from?.a,
        limit: query.limit ?? 100,
      });
      if (from && directory.orgVersion !== from.v) throw orgChanged(from.v, directory.orgVersion);
      const nextCursor =
        directory.nextAfter === undefined
          ? null
          : UsersCursor.encode({ a: directory.nextAfter, v: directory.orgVersion });
      return { items: directory.people, nextCursor, orgVersion: directory.orgVersion };
    },
  }),
  defineRoute({
    operationId: 'getUser',
    method: 'GET',
    path: '/v1/users/{id}',
    tag: 'registry',
    summary: 'A user and their manager',
    description: 'Personal data: admins and viewers only.',
    access: STAFF,
    params: UserParams,
    status: 200,
    response: z.object({ user: OrgUser, manager: OrgUser.nullable() }),
    errors: [404],
    grpc: { service: 'Registry', method: 'GetUser' },
    async handle({ params, call }) {
      return call(RegistryRpc.GetManager, { userId: params.id });
    },
  }),
  defineRoute({
    operationId: 'assignProfile',
    method: 'PUT',
    path: '/v1/users/{id}/profile',
    tag: 'registry',
    summary: "Assign a profile of the user's role (admin)",
    description:
      "Assigns one of the profiles of the user's role to the user. A profile of another role is refused; an unknown " +
      'user or profile is 404.',
    access: ADMINS,
    params: UserParams,
    body: RegistryRpc.AssignProfile.request.omit({ userId: true }),
    idempotent: true,
    status: 200,
    response: RegistryRpc.AssignProfile.response,
    errors: [404],
    grpc: { service: 'Registry', method: 'AssignProfile' },
    async handle({ params, body, call }) {
      return call(RegistryRpc.AssignProfile, { userId: params.id, ...body });
    },
  }),
  defineRoute({
    operationId: 'importOrg',
    method: 'POST',
    path: '/v1/org/import',
    tag: 'registry',
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
    status: 200,
    response: RegistryRpc.ImportOrg.response,
    grpc: { service: 'Registry', method: 'ImportOrg' },
    async handle({ body, call }) {
      return sendOrgImport(body.csv, body.fileName, {
        part: (request) => call(RegistryRpc.ImportOrgPart, request),
        commit: (request) => call(RegistryRpc.ImportOrg, request),
      });
    },
  }),
  defineRoute({
    operationId: 'loadRegistry',
    method: 'PUT',
    path: '/v1/registry',
    tag: 'registry',
    summary: 'Replace the registry (agents, roles, profiles) from its source files (admin)',
    description:
      'Validated and stored atomically as a new version; invalid files are 400 with `problems` ({file, path, reason}). ' +
      'Identical content is a no-op.',
    access: ADMINS,
    body: RegistryRpc.LoadRegistry.request,
    largeBody: true,
    idempotent: true,
    status: 200,
    response: RegistryRpc.LoadRegistry.response,
    grpc: { service: 'Registry', method: 'LoadRegistry' },
    async handle({ body, call }) {
      return call(RegistryRpc.LoadRegistry, body);
    },
  }),
];
