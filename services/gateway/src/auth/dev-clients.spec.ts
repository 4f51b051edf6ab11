import { describe, expect, it } from '@jest/globals';
import {
  devClientDefinitions,
  devSecretFor,
  findDemoRegistryDir,
  parseDevClientList,
  readRegistryAgents,
} from './dev-clients.js';

describe('dev clients', () => {
  it('come from the demo registry: one per agent with its role, plus admin and viewer', () => {
    const dir = findDemoRegistryDir();
    expect(dir).toBeDefined();
    const agents = readRegistryAgents(dir as string);
    expect(agents).toEqual(
      expect.arrayContaining([
        { id: 'finance-agent', role: 'finance' },
        { id: 'manager-agent', role: 'manager' },
        { id: 'legal-agent', role: 'legal' },
      ]),
    );
    const clients = devClientDefinitions(agents);
    expect(clients.find((c) => c.clientId === 'admin')).toMatchObject({
      secret: 'admin-dev-secret',
      role: 'admin',
      scopes: ['orgmesh:admin', 'orgmesh:read'],
    });
    expect(clients.find((c) => c.clientId === 'viewer')).toMatchObject({
      secret: 'viewer-dev-secret',
      scopes: ['orgmesh:read'],
    });
    expect(clients.find((c) => c.clientId === 'legal-agent')).toMatchObject({
      secret: 'legal-agent-dev-secret',
      subject: 'legal-agent',
      role: 'legal',
      scopes: ['orgmesh:agent'],
    });
    expect(clients).toHaveLength(agents.length + 2);
  });

  it('accept extra clients from AUTH_DEV_CLIENTS and refuse malformed entries', () => {
    expect(parseDevClientList('ops-bot:ops, auditor:audit:viewer')).toEqual([
      { id: 'ops-bot', role: 'ops', kind: 'agent' },
      { id: 'auditor', role: 'audit', kind: 'viewer' },
    ]);
    expect(() => parseDevClientList('broken')).toThrow(/AUTH_DEV_CLIENTS/);
    expect(() => parseDevClientList('x:y:root')).toThrow(/AUTH_DEV_CLIENTS/);
    expect(devSecretFor('x')).toBe('x-dev-secret');
  });
});
