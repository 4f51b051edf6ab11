import type { OperationExample } from './examples.js';
import {
  T2,
  HASH_CLAUDE,
  agent,
  presence,
  profileResponse,
  expectedConfigHashes,
  user,
  manager,
  ORG_CSV,
} from './examples.fixtures.js';

/** Agents, profiles, the org chart and its import (registry.routes.ts). */
export const REGISTRY_EXAMPLES: Readonly<Record<string, OperationExample>> = {
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
};
