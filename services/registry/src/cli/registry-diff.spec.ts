import { describe, expect, it } from '@jest/globals';
import { demoModel } from '../../test/demo-registry.js';
import { diffRegistry, formatDiff, isEmptyDiff } from './registry-diff.js';

describe('orgmesh registry load: the preview', () => {
  it('is empty against the same registry', async () => {
    const model = await demoModel();
    const diff = diffRegistry(model, { version: 3, agents: model.agents, profiles: model.profiles });
    expect(isEmptyDiff(diff)).toBe(true);
    expect(formatDiff(diff)).toEqual([
      'agents: 0 added, 0 changed, 0 removed, 26 unchanged',
      'profiles: 0 added, 0 changed, 0 removed, 7 unchanged',
    ]);
  });

  it('names agents and profiles added, changed (with the fields) and removed', async () => {
    const model = await demoModel();
    const [first, second, ...rest] = model.agents;
    if (!first || !second) throw new Error('demo registry has agents');
    const held = {
      version: 1,
      // The registry holds an older `first` (other tools and description) and an agent the directory dropped.
      agents: [{ ...first, tools: [], description: 'old' }, ...rest, { ...second, id: 'retired-agent' }],
      profiles: model.profiles.slice(1).map((p, i) => (i === 0 ? { ...p, hints: 'old hints' } : p)),
    };
    const diff = diffRegistry(model, held);
    expect(isEmptyDiff(diff)).toBe(false);
    expect(diff.agents).toEqual({
      added: [second.id],
      changed: [{ id: first.id, fields: ['description', 'tools'] }],
      removed: ['retired-agent'],
      unchanged: 24,
    });
    expect(diff.profiles.added).toEqual([model.profiles[0]?.id]);
    expect(diff.profiles.changed).toEqual([{ id: model.profiles[1]?.id, fields: ['hints'] }]);
    expect(formatDiff(diff)).toContain(`  ~ ${first.id}: description, tools`);
    expect(formatDiff(diff)).toContain('  - retired-agent');
  });

  it('treats a registry that holds nothing as all added', async () => {
    const model = await demoModel();
    const diff = diffRegistry(model, { version: null, agents: [], profiles: [] });
    expect(diff.agents.added).toHaveLength(26);
    expect(diff.profiles.added).toHaveLength(7);
  });
});
