import { beforeAll, describe, expect, it } from '@jest/globals';
import { demoFiles, demoModel, editFile } from '../../test/demo-registry.js';
import { validateRegistry } from '../loader/registry.validator.js';
import type { RegistryModel } from '../model/registry.model.js';
import { buildPolicyIndex, resolvePolicy } from './policy.resolver.js';

let model: RegistryModel;
beforeAll(async () => {
  model = await demoModel();
});

describe('resolvePolicy on the demo registry', () => {
  it('lets Finance request approval from Manager, naming the profile entry', () => {
    expect(resolvePolicy(model, 'finance-agent', 'manager-agent', 'approval')).toEqual({
      allowed: true,
      rule: 'profiles/finance.yaml: mesh.request_approval_from[0] (manager)',
      fromRole: 'finance',
      toRole: 'manager',
    });
    expect(resolvePolicy(model, 'finance', 'manager', 'approval').allowed).toBe(true);
  });

  it('lets Manager consult Legal (send it a task)', () => {
    expect(resolvePolicy(model, 'manager-agent', 'legal', 'task')).toMatchObject({
      allowed: true,
      rule: 'profiles/manager.yaml: mesh.send_task_to[1] (legal)',
    });
  });

  it('does not let Legal assign work to Finance: default deny, naming what is missing', () => {
    expect(resolvePolicy(model, 'legal-agent', 'finance-agent', 'task')).toEqual({
      allowed: false,
      rule: 'default-deny: profiles/legal.yaml grants no tasks to finance (mesh.send_task_to)',
      fromRole: 'legal',
      toRole: 'finance',
    });
    // Notifying is not assigning work: Legal may tell Finance the outcome.
    expect(resolvePolicy(model, 'legal-agent', 'finance-agent', 'notification').allowed).toBe(true);
  });

  it('keeps kinds apart: Finance may not request an approval from Legal nor send Manager a task', () => {
    expect(resolvePolicy(model, 'finance-agent', 'legal-agent', 'approval')).toMatchObject({
      allowed: false,
      rule: 'default-deny: profiles/finance.yaml grants no approval requests to legal (mesh.request_approval_from)',
    });
    expect(resolvePolicy(model, 'finance-agent', 'manager-agent', 'task').allowed).toBe(false);
  });

  it('honours the "*" wildcard', () => {
    expect(resolvePolicy(model, 'manager-agent', 'sales-agent', 'notification')).toMatchObject({
      allowed: true,
      rule: 'profiles/manager.yaml: mesh.notify[0] (*)',
    });
  });

  it('denies unknown parties', () => {
    expect(resolvePolicy(model, 'ghost-agent', 'manager', 'task')).toEqual({
      allowed: false,
      rule: 'default-deny: unknown sender "ghost-agent"',
      fromRole: null,
      toRole: 'manager',
    });
    expect(resolvePolicy(model, 'manager', 'ghost-agent', 'task')).toMatchObject({
      allowed: false,
      rule: 'default-deny: unknown recipient "ghost-agent"',
    });
  });

  it('precomputes every (profile, role, kind) decision', () => {
    const index = buildPolicyIndex(model);
    expect(index.decisions.size).toBe(model.profiles.length * model.roles.length * 3);
    expect(index.parties.size).toBe(model.roles.length + model.agents.length);
  });
});

describe('resolvePolicy with an agent on a non-default profile', () => {
  it("uses the agent's own profile, while the role still speaks with its default one", async () => {
    const files = editFile(
      editFile(
        await demoFiles(),
        'agents/qa-agent.yaml',
        'role: engineering\n',
        'role: engineering\nprofile: engineering-contractor\n',
      ),
      'agents/qa-agent.yaml',
      'provider: anthropic\n  name: claude-haiku-4-5',
      'provider: openai\n  name: gpt-4o-mini',
    );
    const result = validateRegistry(
      editFile(files, 'agents/qa-agent.yaml', "tools: [read, edit, 'bash:npm']", 'tools: [read, edit]'),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(resolvePolicy(result.model, 'qa-agent', 'manager', 'notification')).toMatchObject({
      allowed: false,
      rule: 'default-deny: profiles/engineering-contractor.yaml grants no notifications to manager (mesh.notify)',
    });
    expect(resolvePolicy(result.model, 'engineering', 'manager', 'notification').allowed).toBe(true);
  });
});
