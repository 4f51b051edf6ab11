/**
 * The values the operation examples share (examples.ts): one session, one task, approval and
 * notification, one agent with its profile and people, at fixed ids and times, so the examples of
 * the different route groups tell one consistent story.
 */

export const SESSION_ID = '0b6f5f7e-3c1a-4d2b-9a57-2f1c8e4d9a10';
export const TASK_ID = '5d2c9b1e-7a44-4f0e-8c3d-1b6e2a9f7c55';
export const APPROVAL_ID = '8e1f4a2b-6c3d-4e5f-9a0b-1c2d3e4f5a6b';
export const NOTIFICATION_ID = 'c4a1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e';
export const CONTEXT_ID = 'ctx-q1-budget';
export const T0 = '2026-03-02T09:15:00.000Z';
export const T1 = '2026-03-02T09:16:30.000Z';
export const T2 = '2026-03-02T09:41:12.000Z';
export const HASH_CLAUDE = `sha256:${'3f'.repeat(32)}`;
export const HASH_GOOSE = `sha256:${'a7'.repeat(32)}`;
export const JWT_EXAMPLE =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldi0xIn0.eyJzdWIiOiJhZG1pbiIsInNjb3BlIjoib3JnbWVzaDphZG1pbiJ9.c2lnbmF0dXJl';

export const session = {
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

/** A task, approval or notification as it is when sent: nothing set yet, unchanged since (version 1). */
export const taskBase = {
  assignee: null,
  type: null,
  subject: null,
  input: null,
  details: null,
  message: null,
  priority: 'normal',
  state: 'submitted',
  reason: null,
  contextId: CONTEXT_ID,
  deadline: '2026-03-03T09:15:00.000Z',
  escalateAt: null,
  result: null,
  decision: null,
  escalatedTo: null,
  escalatedAt: null,
  version: 1,
  createdAt: T0,
  updatedAt: T0,
};

/** The finance agent's approval and notification both go to the manager role. */
const financeToManager = {
  from: { agentId: 'finance-agent', role: 'finance' },
  to: { role: 'manager', agentId: null },
};

export const task = {
  ...taskBase,
  id: TASK_ID,
  kind: 'task',
  from: { agentId: 'manager-agent', role: 'manager' },
  to: { role: 'legal', agentId: null },
  type: 'contract-review',
  input: { contract: 'MSA-2026-014', pages: 12 },
};

export const approval = {
  ...taskBase,
  id: APPROVAL_ID,
  kind: 'approval',
  ...financeToManager,
  subject: 'Q1 marketing budget above 50k',
  details: { amount: 62000, currency: 'EUR' },
  priority: 'high',
  escalateAt: '2026-03-02T13:15:00.000Z',
};

export const notification = {
  ...taskBase,
  id: NOTIFICATION_ID,
  kind: 'notification',
  ...financeToManager,
  message: 'The Q1 payment run is scheduled for Friday.',
  state: 'completed',
};

export const agent = {
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

export const presence = { online: true, lastSeenAt: T2, reportedConfigHash: HASH_CLAUDE, drift: false };

export const profile = {
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

export const profileResponse = {
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

export const user = {
  userId: 'u00004',
  reportsToId: 'u00001',
  name: 'Dana Reyes',
  role: 'finance',
  email: 'dana.reyes@example.com',
  department: 'Finance',
};

export const manager = {
  userId: 'u00001',
  reportsToId: null,
  name: 'Sam Okafor',
  role: 'manager',
  email: 'sam.okafor@example.com',
  department: 'Management',
};

export const ORG_CSV =
  'userId,reportsToId,name,role,email,department\n' +
  'u00001,,Sam Okafor,manager,sam.okafor@example.com,Management\n' +
  'u00004,u00001,Dana Reyes,finance,dana.reyes@example.com,Finance\n';

export const expectedConfigHashes = { 'claude-code': HASH_CLAUDE, goose: HASH_GOOSE };
