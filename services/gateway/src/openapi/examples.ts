/**
 * One worked example per operation, shown in /docs and prefilled by its try-it client. Every value
 * is checked against the route's own zod schemas (openapi.spec.ts) and by `redocly lint`, so an
 * example cannot drift from the contract unnoticed.
 */
export interface OperationExample {
  /** Path and query parameter values, by parameter name. */
  parameters?: Readonly<Record<string, string | number>>;
  /** The request body (every JSON-like content type of the operation). */
  request?: unknown;
  /** A request body for one content type, where it differs from `request` (text/csv is text). */
  requestByType?: Readonly<Record<string, unknown>>;
  /** The body of the success response. */
  response: unknown;
}

const SESSION_ID = '0b6f5f7e-3c1a-4d2b-9a57-2f1c8e4d9a10';
const TASK_ID = '5d2c9b1e-7a44-4f0e-8c3d-1b6e2a9f7c55';
const APPROVAL_ID = '8e1f4a2b-6c3d-4e5f-9a0b-1c2d3e4f5a6b';
const NOTIFICATION_ID = 'c4a1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e';
const CONTEXT_ID = 'ctx-q1-budget';
const T0 = '2026-03-02T09:15:00.000Z';
const T1 = '2026-03-02T09:16:30.000Z';
const T2 = '2026-03-02T09:41:12.000Z';
const HASH_CLAUDE = `sha256:${'3f'.repeat(32)}`;
const HASH_GOOSE = `sha256:${'a7'.repeat(32)}`;
const JWT_EXAMPLE =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldi0xIn0.eyJzdWIiOiJhZG1pbiIsInNjb3BlIjoib3JnbWVzaDphZG1pbiJ9.c2lnbmF0dXJl';

const session = {
  id: SESSION_ID,
  agentId: 'finance-agent',
  role: 'finance',
  contextId: CONTEXT_ID,
  status: 'active',
  version: 2,
  createdAt: T0,
  updatedAt: T1,
  lastTransitionAt: T1,
  pausedAt: null,
  completedAt: null,
  failedAt: null,
  expiredAt: null,
  metadata: { ticket: 'FIN-1042' },
};

const taskBase = {
  assignee: null,
  type: null,
  subject: null,
  input: null,
  details: null,
  message: null,
  priority: 'normal',
  reason: null,
  contextId: CONTEXT_ID,
  deadline: '2026-03-03T09:15:00.000Z',
  escalateAt: null,
  result: null,
  decision: null,
  escalatedTo: null,
  escalatedAt: null,
  createdAt: T0,
};

const task = {
  ...taskBase,
  id: TASK_ID,
  kind: 'task',
  from: { agentId: 'manager-agent', role: 'manager' },
  to: { role: 'legal', agentId: null },
  type: 'contract-review',
  input: { contract: 'MSA-2026-014', pages: 12 },
  state: 'submitted',
  version: 1,
  updatedAt: T0,
};

const approval = {
  ...taskBase,
  id: APPROVAL_ID,
  kind: 'approval',
  from: { agentId: 'finance-agent', role: 'finance' },
  to: { role: 'manager', agentId: null },
  subject: 'Q1 marketing budget above 50k',
  details: { amount: 62000, currency: 'EUR' },
  priority: 'high',
  state: 'submitted',
  escalateAt: '2026-03-02T13:15:00.000Z',
  version: 1,
  updatedAt: T0,
};

const notification = {
  ...taskBase,
  id: NOTIFICATION_ID,
  kind: 'notification',
  from: { agentId: 'finance-agent', role: 'finance' },
  to: { role: 'manager', agentId: null },
  message: 'The Q1 payment run is scheduled for Friday.',
  state: 'completed',
  version: 1,
  updatedAt: T0,
};

const agent = {
  id: 'finance-agent',
  role: 'finance',
  profile: 'finance-default',
  displayName: 'Finance agent',
  description: 'Prepares budgets and payment runs.',
  model: { provider: 'anthropic', name: 'claude-sonnet-4-5' },
  tools: ['read', 'edit', 'bash:git'],
  delegatesTo: ['legal'],
  cannotAccess: ['hr/salaries'],
  exclusiveAccess: [],
  responsibilities: ['Quarterly budget', 'Payment runs'],
  forbidden: ['Approving its own spend'],
};

const presence = { online: true, lastSeenAt: T2, reportedConfigHash: HASH_CLAUDE, drift: false };

const profile = {
  id: 'finance-default',
  role: 'finance',
  isDefault: true,
  description: 'Finance agents: budgets and payments; IBANs and e-mail addresses masked.',
  providers: [{ name: 'anthropic', models: ['claude-sonnet-4-5'] }],
  privacy: {
    mode: 'mask',
    entities: { iban: 'mask', email: 'mask' },
    customPatterns: [],
    denyList: [],
    employeeIdPattern: null,
  },
  mesh: { sendTaskTo: ['legal'], requestApprovalFrom: ['manager'], notify: ['*'] },
  tools: ['read', 'edit', 'web'],
  extensions: [],
  hints: 'Budgets above 50k need a manager approval.',
};

const profileResponse = {
  profile,
  version: 3,
  jws: JWT_EXAMPLE,
  jwks: {
    keys: [
      {
        kty: 'OKP',
        kid: 'registry-2026-03',
        crv: 'Ed25519',
        x: 'l8a7i1Zq6Xh0p9yvWm3K2b4sJd5Rt6Ue7Vf8Gg9Hh0I',
      },
    ],
  },
};

const user = {
  userId: 'u00004',
  reportsToId: 'u00001',
  name: 'Dana Reyes',
  role: 'finance',
  email: 'dana.reyes@example.com',
  department: 'Finance',
};

const manager = {
  userId: 'u00001',
  reportsToId: null,
  name: 'Sam Okafor',
  role: 'manager',
  email: 'sam.okafor@example.com',
  department: 'Management',
};

const ORG_CSV =
  'userId,reportsToId,name,role,email,department\n' +
  'u00001,,Sam Okafor,manager,sam.okafor@example.com,Management\n' +
  'u00004,u00001,Dana Reyes,finance,dana.reyes@example.com,Finance\n';

const expectedConfigHashes = { 'claude-code': HASH_CLAUDE, goose: HASH_GOOSE };

export const OPERATION_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  getUsage: {
    parameters: { agentId: 'finance-agent', from: '2026-03-02T00:00:00Z', limit: 50 },
    response: {
      rows: [
        {
          hour: '2026-03-02T09:00:00.000Z',
          agentId: 'finance-agent',
          role: 'finance',
          profileId: 'finance',
          sessionId: '',
          workflowId: 'ctx-q1-close',
          provider: 'openai',
          model: 'gpt-4o-mini',
          requests: 12,
          inputTokens: 48210,
          outputTokens: 3904,
          cachedInputTokens: 20480,
          costUsd: 0.008,
          estimatedRequests: 0,
        },
      ],
      totals: { requests: 12, inputTokens: 48210, outputTokens: 3904, costUsd: 0.008 },
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-02T10:15:00.000Z',
      truncated: false,
    },
  },
  getRedactions: {
    parameters: { role: 'finance', from: '2026-03-02T00:00:00Z', bucket: 'hour' },
    response: {
      rows: [
        {
          bucket: '2026-03-02T09:00:00.000Z',
          role: 'finance',
          entityType: 'email',
          masked: 14,
          passed: 0,
          refused: 0,
        },
        {
          bucket: '2026-03-02T09:00:00.000Z',
          role: 'finance',
          entityType: 'iban',
          masked: 3,
          passed: 0,
          refused: 1,
        },
      ],
      totals: { masked: 17, passed: 0, refused: 1 },
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-02T10:15:00.000Z',
      bucket: 'hour',
      truncated: false,
    },
  },
  createSession: {
    request: { agentId: 'finance-agent', contextId: CONTEXT_ID, metadata: { ticket: 'FIN-1042' } },
    response: { ...session, status: 'pending', version: 1, updatedAt: T0, lastTransitionAt: T0 },
  },
  listSessions: {
    parameters: { status: 'active', agentId: 'finance-agent', limit: 20 },
    response: { items: [session], nextCursor: null },
  },
  getSession: { parameters: { id: SESSION_ID }, response: session },
  applySessionEvent: {
    parameters: { id: SESSION_ID },
    request: { event: 'pause', reason: 'waiting for the legal review', expectedVersion: 2 },
    response: { ...session, status: 'paused', version: 3, updatedAt: T2, lastTransitionAt: T2, pausedAt: T2 },
  },
  listSessionTransitions: {
    parameters: { id: SESSION_ID, limit: 50 },
    response: {
      items: [
        {
          seq: 1,
          sessionId: SESSION_ID,
          from: 'pending',
          to: 'active',
          event: 'activate',
          actor: 'finance-agent',
          reason: null,
          causationId: null,
          traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
          occurredAt: T1,
        },
      ],
      nextCursor: null,
    },
  },
  listTasks: {
    parameters: { direction: 'inbound', state: 'submitted', limit: 20 },
    response: { items: [task], nextCursor: null },
  },
  sendTask: {
    request: {
      to: 'legal',
      type: 'contract-review',
      input: { contract: 'MSA-2026-014', pages: 12 },
      contextId: CONTEXT_ID,
      deadline: '2026-03-03T09:15:00.000Z',
    },
    response: task,
  },
  getTask: { parameters: { id: TASK_ID, includeHistory: 'false' }, response: task },
  updateTask: {
    parameters: { id: TASK_ID },
    request: { state: 'completed', result: { verdict: 'sign', notes: 'Clause 7.2 amended' } },
    response: {
      ...task,
      assignee: { agentId: 'legal-agent', role: 'legal' },
      state: 'completed',
      result: { verdict: 'sign', notes: 'Clause 7.2 amended' },
      version: 3,
      updatedAt: T2,
    },
  },
  decideTask: {
    parameters: { id: APPROVAL_ID },
    request: { decision: 'approve', comment: 'Within the annual plan.' },
    response: {
      ...approval,
      state: 'completed',
      decision: {
        decision: 'approve',
        comment: 'Within the annual plan.',
        decidedBy: { agentId: 'manager-agent', role: 'manager' },
        decidedAt: T2,
      },
      version: 2,
      updatedAt: T2,
    },
  },
  cancelTask: {
    parameters: { id: TASK_ID },
    request: { reason: 'superseded by MSA-2026-015' },
    response: { ...task, state: 'canceled', reason: 'superseded by MSA-2026-015', version: 2, updatedAt: T2 },
  },
  listDelegations: {
    response: {
      given: [
        {
          id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01',
          from: 'u00002',
          to: 'u00001',
          startsAt: T1,
          endsAt: '2026-03-09T18:00:00.000Z',
        },
      ],
      received: [],
    },
  },
  revokeDelegation: {
    parameters: { id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01' },
    response: {
      id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01',
      from: 'u00002',
      to: 'u00001',
      startsAt: T1,
      endsAt: T2,
    },
  },
  delegateApprovals: {
    request: { to: 'u00001', endsAt: '2026-03-09T18:00:00.000Z' },
    response: {
      id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01',
      from: 'u00002',
      to: 'u00001',
      startsAt: T1,
      endsAt: '2026-03-09T18:00:00.000Z',
    },
  },
  listApprovals: {
    parameters: { direction: 'inbound', state: 'submitted' },
    response: { items: [approval], nextCursor: null },
  },
  requestApproval: {
    request: {
      to: 'manager',
      subject: 'Q1 marketing budget above 50k',
      details: { amount: 62000, currency: 'EUR' },
      priority: 'high',
      contextId: CONTEXT_ID,
    },
    response: approval,
  },
  listNotifications: {
    parameters: { direction: 'inbound', limit: 20 },
    response: { items: [notification], nextCursor: null },
  },
  notify: {
    request: { to: 'manager', message: 'The Q1 payment run is scheduled for Friday.', contextId: CONTEXT_ID },
    response: notification,
  },
  listAgents: {
    parameters: { role: 'finance', online: 'true' },
    response: { items: [{ agent, presence }], nextCursor: null, version: 3 },
  },
  getAgent: {
    parameters: { id: 'finance-agent' },
    response: { agent, profileId: 'finance-default', presence, expectedConfigHashes, version: 3 },
  },
  renderAgentConfig: {
    parameters: { id: 'finance-agent', format: 'claude-code' },
    response: {
      agentId: 'finance-agent',
      format: 'claude-code',
      files: [{ path: 'CLAUDE.md', content: '# Finance agent\n\nPrepares budgets and payment runs.\n' }],
      configHash: HASH_CLAUDE,
      version: 3,
      warnings: [],
    },
  },
  getAgentDrift: {
    parameters: { id: 'finance-agent' },
    response: {
      agentId: 'finance-agent',
      drift: false,
      online: true,
      lastSeenAt: T2,
      reportedConfigHash: HASH_CLAUDE,
      expectedConfigHashes,
      version: 3,
    },
  },
  agentHeartbeat: {
    parameters: { id: 'finance-agent' },
    request: { configHash: HASH_CLAUDE, format: 'claude-code' },
    response: { online: true, drift: false, timeoutMs: 90000, receivedAt: T2 },
  },
  getProfiles: { parameters: { role: 'finance' }, response: profileResponse },
  getProfile: { parameters: { id: 'finance-default' }, response: profileResponse },
  listUsers: {
    parameters: { limit: 2 },
    response: {
      items: [
        { userId: 'u00001', name: 'Sam Okafor', email: 'sam.okafor@example.com', department: 'Management' },
        { userId: 'u00004', name: 'Dana Reyes', email: 'dana.reyes@example.com', department: 'Finance' },
      ],
      // The registry's last user id of the page and the org version it was read from, base64url JSON.
      nextCursor: 'eyJhIjoidTAwMDA0IiwidiI6Mn0',
      orgVersion: 2,
    },
  },
  getUser: { parameters: { id: 'u00004' }, response: { user, manager } },
  assignProfile: {
    parameters: { id: 'u00004' },
    request: { profileId: 'finance-default' },
    response: { userId: 'u00004', profileId: 'finance-default', assignedBy: 'admin', assignedAt: T2 },
  },
  importOrg: {
    request: { csv: ORG_CSV, fileName: 'org-chart.csv' },
    requestByType: { 'text/csv': ORG_CSV },
    response: { orgVersion: 2, users: 2, importedAt: T2 },
  },
  loadRegistry: {
    request: {
      files: [
        {
          path: 'agents/finance-agent.yaml',
          content: 'id: finance-agent\nrole: finance\ndisplayName: Finance agent\n',
        },
      ],
    },
    response: {
      version: 4,
      digest: `sha256:${'5c'.repeat(32)}`,
      changed: true,
      roles: 3,
      agents: 3,
      profiles: 3,
    },
  },
  subscribeEvents: {
    parameters: { subject: 'sessions.v1.*,mesh.v1.task-updated' },
    response: {
      subject: 'sessions.v1.transitioned',
      sequence: 1042,
      eventId: '9b2e7c1a-0d4f-4e8a-b3c5-6a7d8e9f0a1b',
      publishedAt: T1,
      payload: { sessionId: SESSION_ID, from: 'pending', to: 'active', event: 'activate' },
    },
  },
  createStreamTicket: {
    response: { ticket: 'v1.q83vEjRWeJBo9y5wHJzS1gV3bX0-6kDq', expiresAt: T1 },
  },
  whoami: {
    response: {
      subject: 'finance-agent',
      role: 'finance',
      kind: 'agent',
      tenant: 'default',
      scopes: ['orgmesh:agent'],
    },
  },
  issueToken: {
    request: { grant_type: 'client_credentials', client_id: 'admin', client_secret: 'admin-dev-secret' },
    response: { access_token: JWT_EXAMPLE, token_type: 'Bearer', expires_in: 3600, scope: 'orgmesh:admin' },
  },
  getJwks: {
    response: {
      keys: [
        {
          kty: 'EC',
          crv: 'P-256',
          kid: 'dev-1',
          use: 'sig',
          alg: 'ES256',
          x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
          y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
        },
      ],
    },
  },
  getOpenIdConfiguration: {
    response: {
      issuer: 'http://127.0.0.1:8080',
      token_endpoint: 'http://127.0.0.1:8080/v1/auth/token',
      jwks_uri: 'http://127.0.0.1:8080/.well-known/jwks.json',
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      id_token_signing_alg_values_supported: ['ES256'],
    },
  },
};
