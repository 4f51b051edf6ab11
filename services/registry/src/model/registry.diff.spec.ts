import { beforeAll, describe, expect, it } from '@jest/globals';
import type { OrgUser, RegistrySourceFile } from '@orgmesh/contracts';
import { demoFiles, editFile, withFile } from '../../test/demo-registry.js';
import { validateRegistry } from '../loader/registry.validator.js';
import { checkProfileAssignment } from './profile-assignment.js';
import { diffModels, modelDigest } from './registry.diff.js';
import type { RegistryModel } from './registry.model.js';

let files: RegistrySourceFile[];
let model: RegistryModel;
function load(variant: RegistrySourceFile[]): RegistryModel {
  const result = validateRegistry(variant);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.model;
}
beforeAll(async () => {
  files = await demoFiles();
  model = load(files);
});

describe('modelDigest', () => {
  it('is equal for equal registries whatever the file names or order, and differs otherwise', () => {
    const renamed = files
      .map((f) => (f.path === 'agents/qa-agent.yaml' ? { ...f, path: 'agents/quality.yaml' } : f))
      .reverse();
    expect(modelDigest(load(renamed))).toBe(modelDigest(model));
    expect(modelDigest(load(editFile(files, 'agents/qa-agent.yaml', 'QA Agent', 'Quality Agent')))).not.toBe(
      modelDigest(model),
    );
  });
});

describe('diffModels', () => {
  it('registers every agent and publishes every profile of a first version', () => {
    const changes = diffModels(undefined, model);
    expect(changes.registered).toHaveLength(26);
    expect(changes.publishedProfiles).toHaveLength(7);
    expect(changes.updated).toEqual([]);
    expect(changes.removed).toEqual([]);
  });

  it('finds nothing to publish between equal versions', () => {
    expect(diffModels(model, load([...files].reverse()))).toEqual({
      registered: [],
      updated: [],
      removed: [],
      publishedProfiles: [],
    });
  });

  it('names added, changed and removed agents, and agents whose profile changed', () => {
    const added =
      files
        .find((f) => f.path === 'agents/qa-agent.yaml')
        ?.content.replace('id: qa-agent', 'id: qa2-agent')
        .replace("'e2e/**'", "'e2e-smoke/**'") ?? '';
    const next = load(
      withFile(
        withFile(
          editFile(
            editFile(files, 'agents/backend-agent.yaml', 'Backend Agent', 'Backend Service Agent'),
            'profiles/legal.yaml',
            'ssn: strict',
            'ssn: mask',
          ),
          'agents/data-agent.yaml',
          undefined,
        ),
        'agents/qa2-agent.yaml',
        added,
      ),
    );
    const changes = diffModels(model, next);
    expect(changes.registered.map((a) => a.id)).toEqual(['qa2-agent']);
    expect(changes.removed.map((a) => a.id)).toEqual(['data-agent']);
    expect(changes.publishedProfiles.map((p) => p.id)).toEqual(['legal']);
    expect(changes.updated.map((u) => [u.agent.id, u.changed])).toEqual([
      ['backend-agent', ['displayName']],
      ['compliance-agent', ['profile']],
      ['contracts-agent', ['profile']],
      ['legal-agent', ['profile']],
      ['privacy-counsel-agent', ['profile']],
    ]);
  });
});

describe('checkProfileAssignment', () => {
  const engineer: OrgUser = {
    userId: 'u42',
    reportsToId: 'u1',
    name: 'Kai Ito',
    role: 'engineering',
    email: 'kai.ito@example.com',
    department: 'Engineering',
  };

  it("allows a profile of the user's role", () => {
    expect(checkProfileAssignment(model, engineer, 'engineering-contractor').id).toBe(
      'engineering-contractor',
    );
  });

  it('refuses an unknown profile and a profile of another role', () => {
    expect(() => checkProfileAssignment(model, engineer, 'nope')).toThrow(
      expect.objectContaining({ code: 'profile_not_found' }),
    );
    expect(() => checkProfileAssignment(model, engineer, 'finance')).toThrow(
      'profile "finance" is for role "finance"; user "u42" has role "engineering"',
    );
  });
});
