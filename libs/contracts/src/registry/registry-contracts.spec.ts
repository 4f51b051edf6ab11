import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { allContracts } from '../define.js';
import { ResolvePolicy } from './resolve-policy.rpc.js';
import { RegistryAgent } from './registry.schema.js';
import './index.js';

describe('registry contracts', () => {
  const registry = allContracts().filter((c) => c.context === 'registry');

  it('defines its RPCs and nine events under the registry context', () => {
    expect(
      registry
        .filter((c) => c.kind === 'rpc')
        .map((c) => c.subject.split('.').pop())
        .sort(),
    ).toEqual([
      'admin-directory',
      'assign-profile',
      'directory',
      'get-agent',
      'get-department-head',
      'get-manager',
      'get-profile',
      'heartbeat',
      'import-org',
      'import-org-part',
      'list-agents',
      'load',
      'render-config',
      'resolve-policy',
    ]);
    expect(
      registry
        .filter((c) => c.kind === 'event')
        .map((c) => c.subject.split('.').pop())
        .sort(),
    ).toEqual([
      'agent-offline',
      'agent-online',
      'agent-registered',
      'agent-removed',
      'agent-updated',
      'drift-cleared',
      'drift-detected',
      'org-imported',
      'profile-published',
    ]);
  });

  it('exports every schema as JSON Schema for non-TypeScript peers', () => {
    for (const c of registry) {
      const schemas = c.kind === 'rpc' ? [c.request, c.response] : [c.schema];
      for (const schema of schemas) expect(() => z.toJSONSchema(schema, { io: 'input' })).not.toThrow();
    }
  });

  it('refuses ids that are not kebab-case, naming the rule', () => {
    const result = ResolvePolicy.request.safeParse({
      from: 'Finance_Agent',
      to: 'manager',
      kind: 'approval',
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/kebab-case/);
  });

  it('refuses workspace paths that escape the workspace', () => {
    const agent = {
      id: 'finance-agent',
      role: 'finance',
      profile: null,
      displayName: 'Finance',
      description: '',
      model: { provider: 'openai', name: 'gpt-4o-mini' },
      tools: ['read'],
      delegatesTo: [],
      cannotAccess: ['../secrets/**'],
      exclusiveAccess: [],
      responsibilities: [],
      forbidden: [],
    };
    expect(RegistryAgent.safeParse(agent).error?.issues[0]?.path).toEqual(['cannotAccess', 0]);
  });
});
