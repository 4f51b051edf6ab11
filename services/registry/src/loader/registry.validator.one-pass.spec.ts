import { beforeAll, describe, expect, it } from '@jest/globals';
import type { RegistrySourceFile } from '@orgmesh/contracts';
import { demoFiles, editFile, problemLines } from '../../test/demo-registry.js';
import { nearest } from './references.js';

// Issue 20: one validation run reports every problem (a schema error does not hide the file's other
// problems), and one typo is reported once, where it was made, not again in every file that uses it.
let demo: RegistrySourceFile[];
beforeAll(async () => {
  demo = await demoFiles();
});

describe('one pass: every problem of every file', () => {
  it('reports a schema error together with the same file’s reference problems and other files’ problems', () => {
    let files = editFile(demo, 'agents/finance-agent.yaml', 'role: finance', 'role: finanse\ntols: []');
    files = editFile(files, 'agents/finance-agent.yaml', 'delegates_to: [', 'delegates_to: [nobody-agent, ');
    files = editFile(files, 'agents/manager-agent.yaml', 'provider: openai', 'provider: 42');
    files = editFile(files, 'agents/legal-agent.yaml', 'display_name: Legal Agent', 'display_name: ""');
    files = editFile(files, 'agents/legal-agent.yaml', /delegates_to: \[/, 'delegates_to: [legal-agnt, ');
    expect(problemLines(files)).toEqual([
      'agents/finance-agent.yaml: role: unknown role "finanse" (roles.yaml declares: engineering, finance, hr, legal, manager, sales); did you mean "finance"? (line 2, column 7)',
      'agents/finance-agent.yaml: tols: unknown key (line 3, column 1)',
      'agents/finance-agent.yaml: delegates_to[0]: unknown agent "nobody-agent" (line 10, column 16)',
      expect.stringMatching(/^agents\/legal-agent\.yaml: display_name: .*\(line 3, column 15\)$/),
      expect.stringMatching(
        /^agents\/legal-agent\.yaml: delegates_to\[0\]: unknown agent "legal-agnt"; did you mean "legal-agent"\?/,
      ),
      'agents/manager-agent.yaml: model.provider: Invalid option: expected one of "anthropic"|"openai" (line 6, column 13)',
    ]);
  });

  it('checks an invalid agent’s tools against its profile too', () => {
    let files = editFile(demo, 'agents/finance-agent.yaml', 'display_name: Finance Agent', 'display_name: 7');
    files = editFile(
      files,
      'agents/finance-agent.yaml',
      "tools: [read, edit, 'bash:python3']",
      'tools: [read, web]',
    );
    const lines = problemLines(files);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^agents\/finance-agent\.yaml: display_name: /);
    expect(lines[1]).toMatch(
      /^agents\/finance-agent\.yaml: tools\[1\]: tool "web" is not allowed by profile "finance"/,
    );
  });
});

describe('one typo, one problem', () => {
  it('a misspelt role in roles.yaml is reported there once, not in the ten files that use the role', () => {
    expect(problemLines(editFile(demo, 'roles.yaml', /id: legal\b/, 'id: legl'))).toEqual([
      'roles.yaml: roles[2].id: role "legl" is used nowhere, while "legal" is used 10 times but not declared (agents/compliance-agent.yaml, agents/contracts-agent.yaml, agents/legal-agent.yaml, agents/privacy-counsel-agent.yaml and 4 more): a misspelling of "legal"? (line 9, column 9)',
    ]);
  });

  it('a misspelt agent id is reported in its own file, not in the files that delegate to it', () => {
    const files = editFile(
      demo,
      'agents/accounts-payable-agent.yaml',
      'id: accounts-payable-agent',
      'id: acounts-payable-agent',
    );
    expect(problemLines(files)).toEqual([
      'agents/accounts-payable-agent.yaml: id: declares id "acounts-payable-agent", but the file is agents/accounts-payable-agent.yaml and "accounts-payable-agent" is delegated to once (agents/finance-agent.yaml): a misspelling of "accounts-payable-agent"? (line 1, column 5)',
    ]);
  });

  it('a profile with a misspelt role is one problem, not also "role hr has no profile" in roles.yaml', () => {
    expect(problemLines(editFile(demo, 'profiles/hr.yaml', 'role: hr', 'role: hrr'))).toEqual([
      'profiles/hr.yaml: role: unknown role "hrr" (roles.yaml declares: engineering, finance, hr, legal, manager, sales); did you mean "hr"? (line 2, column 7)',
    ]);
  });

  it('the same unknown role in several files is reported once, at the first use, naming the others', () => {
    let files = editFile(demo, 'agents/finance-agent.yaml', 'role: finance', 'role: treasury');
    files = editFile(files, 'agents/treasury-agent.yaml', 'role: finance', 'role: treasury');
    const lines = problemLines(files);
    expect(lines).toEqual([
      'agents/finance-agent.yaml: role: unknown role "treasury" (roles.yaml declares: engineering, finance, hr, legal, manager, sales); also used in agents/treasury-agent.yaml (line 2, column 7)',
    ]);
  });

  it('a single misspelt use of a declared but unused role is reported at the use, and the role still lacks a profile', () => {
    let files = editFile(
      demo,
      'roles.yaml',
      'roles:\n',
      'roles:\n  - id: ops\n    display_name: Operations\n    description: New.\n',
    );
    files = editFile(files, 'agents/data-agent.yaml', /^role: .*$/m, 'role: opps');
    const lines = problemLines(files);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^agents\/data-agent\.yaml: role: unknown role "opps" \(roles\.yaml declares: .*ops.*\); did you mean "ops"\?/,
    );
    expect(lines[1]).toMatch(/^roles\.yaml: roles\[0\]\.id: role "ops" has no profile/);
  });

  it('an agent file that cannot be read is its own problem, not "unknown agent" in each file delegating to it', () => {
    const files = editFile(demo, 'agents/qa-agent.yaml', /^id: qa-agent$/m, 'id: [qa-agent');
    const lines = problemLines(files);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^agents\/qa-agent\.yaml: \(root\): invalid YAML/);
  });

  it('suggests only near spellings', () => {
    expect(nearest('finanse', ['finance', 'legal'])).toBe('finance');
    expect(nearest('hrr', ['hr', 'sales'])).toBe('hr');
    expect(nearest('treasury', ['finance', 'legal'])).toBeUndefined();
    expect(nearest('ab', ['cd'])).toBeUndefined();
    // The shared "-agent" does not make two different agents look alike.
    expect(nearest('qa-agent', ['hr-agent', 'data-agent'])).toBeUndefined();
    expect(nearest('acounts-payable-agent', ['accounts-payable-agent'])).toBe('accounts-payable-agent');
    expect(nearest('legal-agnt', ['legal-agent'])).toBe('legal-agent');
  });
});
