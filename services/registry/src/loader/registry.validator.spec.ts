import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistrySourceFile } from '@orgmesh/contracts';
import { demoFiles, editFile, problemLines, withFile, DEMO_REGISTRY_DIR } from '../../test/demo-registry.js';
import { formatProblem } from './problem.js';
import { loadRegistryDir } from './registry.reader.js';
import { validateRegistry } from './registry.validator.js';

let demo: RegistrySourceFile[];
beforeAll(async () => {
  demo = await demoFiles();
});

const AGENT = (id: string, extra = ''): string =>
  `id: ${id}
role: finance
display_name: Test Agent
model:
  provider: openai
  name: gpt-4o-mini
${extra}`;

describe('the demo registry', () => {
  it('is valid: 6 roles, 7 profiles, 26 agents including the three reference agents', () => {
    const result = validateRegistry(demo);
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.model.roles.map((r) => r.id)).toEqual([
      'engineering',
      'finance',
      'hr',
      'legal',
      'manager',
      'sales',
    ]);
    expect(result.model.profiles).toHaveLength(7);
    expect(result.model.agents).toHaveLength(26);
    expect(result.model.agents.map((a) => a.id)).toEqual(
      expect.arrayContaining(['finance-agent', 'manager-agent', 'legal-agent']),
    );
  });

  it('maps snake_case files to the camelCase model', () => {
    const result = validateRegistry(demo);
    if (!result.ok) throw new Error('demo invalid');
    const finance = result.model.agents.find((a) => a.id === 'finance-agent');
    expect(finance).toMatchObject({
      displayName: 'Finance Agent',
      profile: null,
      delegatesTo: ['accounts-payable-agent', 'accounts-receivable-agent', 'financial-reporting-agent'],
      cannotAccess: ['.env', 'secrets/**', 'hr/**', 'legal/privileged/**'],
      exclusiveAccess: ['finance/budgets/**'],
    });
    const legal = result.model.profiles.find((p) => p.id === 'legal');
    expect(legal?.privacy).toMatchObject({
      mode: 'mask',
      entities: { ssn: 'strict' },
      employeeIdPattern: null,
    });
    expect(legal?.mesh).toEqual({
      sendTaskTo: ['legal'],
      requestApprovalFrom: ['manager'],
      notify: ['manager', 'legal', 'finance'],
    });
    expect(result.model.profiles.find((p) => p.id === 'engineering-contractor')?.isDefault).toBe(false);
    expect(result.model.profiles.find((p) => p.id === 'finance')?.isDefault).toBe(true);
  });
});

describe('missing directories and files', () => {
  it('reports a missing directory', async () => {
    const result = await loadRegistryDir('/nonexistent/registry');
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      '/nonexistent/registry: (root): directory not found',
    ]);
  });

  it('reports a missing roles.yaml and missing agents/ and profiles/ directories', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-'));
    try {
      const result = await loadRegistryDir(dir);
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
        'agents: (root): directory not found: agents/<id>.yaml holds one agent per file',
        'profiles: (root): directory not found: profiles/<id>.yaml holds one profile per file',
        'roles.yaml: (root): file not found: roles are declared in roles.yaml',
      ]);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('loads nothing when one file of an otherwise valid directory is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-'));
    try {
      for (const file of demo) {
        await mkdir(join(dir, file.path, '..'), { recursive: true });
        await writeFile(join(dir, file.path), file.content);
      }
      expect((await loadRegistryDir(dir)).ok).toBe(true);
      await writeFile(join(dir, 'agents/qa-agent.yaml'), 'id: qa-agent\nrole: [\n');
      const result = await loadRegistryDir(dir);
      expect(result.ok).toBe(false);
      expect('model' in result).toBe(false);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('reads the demo directory itself', async () => {
    expect((await loadRegistryDir(DEMO_REGISTRY_DIR)).ok).toBe(true);
  });

  it('reports a YAML file outside the layout', () => {
    expect(problemLines(withFile(demo, 'policies.yaml', 'rules: []\n'))).toEqual([
      'policies.yaml: (root): unexpected file: a registry holds roles.yaml, agents/<id>.yaml and profiles/<id>.yaml',
    ]);
  });
});

describe('invalid YAML', () => {
  it('names the line and column of a syntax error', () => {
    const files = withFile(
      demo,
      'agents/test-agent.yaml',
      'id: test-agent\nrole: finance\ntools: [read, edit\ndisplay_name: x\n',
    );
    expect(problemLines(files)).toEqual([
      'agents/test-agent.yaml: (root): invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (line 4, column 1)',
    ]);
  });

  it('refuses a repeated key instead of silently keeping the last one', () => {
    const files = withFile(demo, 'agents/test-agent.yaml', `${AGENT('test-agent')}role: legal\n`);
    expect(problemLines(files)).toEqual([
      'agents/test-agent.yaml: (root): invalid YAML: Map keys must be unique (line 7, column 1)',
    ]);
  });
});

describe('schema violations', () => {
  it('names a missing required key at the object that lacks it', () => {
    const files = withFile(
      demo,
      'agents/test-agent.yaml',
      'id: test-agent\nrole: finance\nmodel:\n  provider: openai\n',
    );
    expect(problemLines(files)).toEqual([
      'agents/test-agent.yaml: display_name: required (line 1, column 1)',
      'agents/test-agent.yaml: model.name: required (line 4, column 3)',
    ]);
  });

  it('names a wrong type, a bad id, an unknown key and a bad enum with their positions', () => {
    const files = withFile(
      demo,
      'agents/test-agent.yaml',
      `${AGENT('Test_Agent', 'delegate_to: [finance-agent]\ntools: read\n')}`.replace(
        'provider: openai',
        'provider: mistral',
      ),
    );
    expect(problemLines(files)).toEqual([
      'agents/test-agent.yaml: id: must be kebab-case: lowercase letters and digits separated by single dashes (line 1, column 5)',
      'agents/test-agent.yaml: model.provider: Invalid option: expected one of "anthropic"|"openai" (line 5, column 13)',
      'agents/test-agent.yaml: delegate_to: unknown key (line 7, column 1)',
      'agents/test-agent.yaml: tools: Invalid input: expected array, received string (line 8, column 8)',
    ]);
  });

  it('checks profile privacy settings: modes, entity types and regular expressions', () => {
    const files = editFile(
      editFile(demo, 'profiles/finance.yaml', 'ip_address: detect', 'ip_address: hide\n    passport: mask'),
      'profiles/finance.yaml',
      "pattern: 'INV-\\d{6}'",
      "pattern: 'INV-(\\d{6}'",
    );
    expect(problemLines(files)).toEqual([
      'profiles/finance.yaml: privacy.entities.ip_address: Invalid option: expected one of "off"|"detect"|"mask"|"strict" (line 12, column 17)',
      'profiles/finance.yaml: privacy.entities.passport: unknown key (line 13, column 5)',
      'profiles/finance.yaml: privacy.custom_patterns[0].pattern: not a valid regular expression (line 16, column 16)',
    ]);
  });

  it('reports an empty file as a whole', () => {
    expect(problemLines(withFile(demo, 'agents/empty-agent.yaml', ''))).toEqual([
      'agents/empty-agent.yaml: (root): Invalid input: expected object, received null',
    ]);
  });

  it('refuses paths that leave the workspace', () => {
    const files = editFile(
      demo,
      'agents/qa-agent.yaml',
      "[.env, 'secrets/**'",
      "['../other', .env, 'secrets/**'",
    );
    expect(problemLines(files)).toEqual([
      'agents/qa-agent.yaml: cannot_access[0]: must be a relative path inside the workspace (no leading "/", no "..") (line 11, column 4)',
    ]);
  });
});

describe('duplicate ids', () => {
  it('reports a duplicate agent id in the later file, naming the first', () => {
    const copy = demo.find((f) => f.path === 'agents/qa-agent.yaml')?.content ?? '';
    expect(problemLines(withFile(demo, 'agents/zz-copy.yaml', copy))).toEqual([
      'agents/zz-copy.yaml: id: duplicate agent id "qa-agent" (also declared in agents/qa-agent.yaml) (line 1, column 5)',
    ]);
  });

  it('reports a duplicate profile id', () => {
    const copy = demo.find((f) => f.path === 'profiles/sales.yaml')?.content ?? '';
    expect(problemLines(withFile(demo, 'profiles/sales2.yaml', copy))).toEqual([
      'profiles/sales2.yaml: id: duplicate profile id "sales" (also declared in profiles/sales.yaml) (line 1, column 5)',
    ]);
  });

  it('reports a duplicate role id', () => {
    const files = editFile(demo, 'roles.yaml', '  - id: sales\n', '  - id: legal\n');
    expect(problemLines(files)).toContain(
      'roles.yaml: roles[5].id: duplicate role id "legal" (first at roles[2]) (line 18, column 9)',
    );
  });

  it('refuses an agent id that is also a role id', () => {
    const files = withFile(demo, 'agents/finance.yaml', AGENT('finance'));
    expect(problemLines(files)).toEqual([
      'agents/finance.yaml: id: agent id "finance" is also a role id; they must differ because policies name either (line 1, column 5)',
    ]);
  });
});

describe('references', () => {
  it('reports delegates_to naming an unknown agent, or the agent itself', () => {
    const files = editFile(
      demo,
      'agents/finance-agent.yaml',
      'delegates_to: [accounts-payable-agent,',
      'delegates_to: [finance-agent, acounts-payable-agent,',
    );
    expect(problemLines(files)).toEqual([
      'agents/finance-agent.yaml: delegates_to[0]: an agent cannot delegate to itself (line 9, column 16)',
      'agents/finance-agent.yaml: delegates_to[1]: unknown agent "acounts-payable-agent"; did you mean "accounts-payable-agent"? (line 9, column 31)',
    ]);
  });

  it('reports a delegation the mesh policy would refuse', () => {
    const files = editFile(
      demo,
      'agents/legal-agent.yaml',
      'delegates_to: [contracts-agent',
      'delegates_to: [treasury-agent, contracts-agent',
    );
    expect(problemLines(files)).toEqual([
      'agents/legal-agent.yaml: delegates_to[0]: profile "legal" does not allow sending tasks to role "finance" of agent "treasury-agent" (mesh.send_task_to) (line 9, column 16)',
    ]);
  });

  it('reports an agent of an unknown role', () => {
    const files = withFile(
      demo,
      'agents/test-agent.yaml',
      AGENT('test-agent').replace('role: finance', 'role: marketing'),
    );
    expect(problemLines(files)).toEqual([
      'agents/test-agent.yaml: role: unknown role "marketing" (roles.yaml declares: engineering, finance, hr, legal, manager, sales) (line 2, column 7)',
    ]);
  });

  it("reports exclusive_access conflicting with another agent's", () => {
    const files = editFile(
      demo,
      'agents/treasury-agent.yaml',
      "exclusive_access: ['finance/treasury/**']",
      "exclusive_access: ['finance/treasury/**', 'finance']",
    );
    expect(problemLines(files)).toEqual([
      'agents/treasury-agent.yaml: exclusive_access[1]: "finance" conflicts with exclusive_access "finance/budgets/**" of agent "finance-agent" (agents/finance-agent.yaml) (line 11, column 43)',
      'agents/treasury-agent.yaml: exclusive_access[1]: "finance" conflicts with exclusive_access "finance/payables/**" of agent "accounts-payable-agent" (agents/accounts-payable-agent.yaml) (line 11, column 43)',
      'agents/treasury-agent.yaml: exclusive_access[1]: "finance" conflicts with exclusive_access "finance/payroll/**" of agent "payroll-agent" (agents/payroll-agent.yaml) (line 11, column 43)',
      'agents/treasury-agent.yaml: exclusive_access[1]: "finance" conflicts with exclusive_access "finance/receivables/**" of agent "accounts-receivable-agent" (agents/accounts-receivable-agent.yaml) (line 11, column 43)',
      'agents/treasury-agent.yaml: exclusive_access[1]: "finance" conflicts with exclusive_access "finance/reports/**" of agent "financial-reporting-agent" (agents/financial-reporting-agent.yaml) (line 11, column 43)',
    ]);
  });

  it('reports a role without a profile', () => {
    const files = withFile(demo, 'profiles/hr.yaml', undefined);
    expect(problemLines(files)).toEqual([
      'roles.yaml: roles[3].id: role "hr" has no profile (add profiles/hr.yaml with role: hr) (line 12, column 9)',
    ]);
  });

  it('reports a profile naming an unknown role, in its role and in its mesh permissions', () => {
    const files = editFile(
      editFile(demo, 'profiles/engineering-contractor.yaml', 'role: engineering', 'role: contractors'),
      'profiles/sales.yaml',
      'send_task_to: [sales, legal, finance]',
      'send_task_to: [sales, lawyers]',
    );
    expect(problemLines(files)).toEqual([
      'profiles/engineering-contractor.yaml: role: unknown role "contractors" (roles.yaml declares: engineering, finance, hr, legal, manager, sales) (line 2, column 7)',
      'profiles/sales.yaml: mesh.send_task_to[1]: unknown role "lawyers" (roles.yaml declares: engineering, finance, hr, legal, manager, sales) (line 15, column 25)',
    ]);
  });

  it('needs exactly one default profile when a role has several', () => {
    const none = editFile(demo, 'profiles/engineering.yaml', 'default: true\n', '');
    expect(problemLines(none)).toEqual([
      'profiles/engineering-contractor.yaml: role: role "engineering" has 2 profiles (engineering, engineering-contractor); mark exactly one with default: true (line 2, column 7)',
      'profiles/engineering.yaml: role: role "engineering" has 2 profiles (engineering, engineering-contractor); mark exactly one with default: true (line 2, column 7)',
    ]);
    const two = editFile(demo, 'profiles/engineering-contractor.yaml', 'default: false', 'default: true');
    expect(problemLines(two)).toEqual([
      'profiles/engineering.yaml: default: role "engineering" already has default profile "engineering-contractor" (line 3, column 1)',
    ]);
  });

  it("checks an agent's explicit profile: it exists and belongs to the agent's role", () => {
    const unknown = editFile(
      demo,
      'agents/qa-agent.yaml',
      'role: engineering\n',
      'role: engineering\nprofile: contractor\n',
    );
    expect(problemLines(unknown)).toEqual([
      'agents/qa-agent.yaml: profile: unknown profile "contractor" (line 3, column 10)',
    ]);
    const otherRole = editFile(
      demo,
      'agents/qa-agent.yaml',
      'role: engineering\n',
      'role: engineering\nprofile: legal\n',
    );
    expect(problemLines(otherRole)).toEqual([
      'agents/qa-agent.yaml: profile: profile "legal" is for role "legal", not "engineering" (line 3, column 10)',
    ]);
  });

  it('checks the model and tools against the profile', () => {
    const files = editFile(
      editFile(demo, 'agents/finance-agent.yaml', 'name: gpt-4o-mini', 'name: gpt-5'),
      'agents/finance-agent.yaml',
      "tools: [read, edit, 'bash:python3']",
      "tools: [read, web, 'bash:curl']",
    );
    expect(problemLines(files)).toEqual([
      'agents/finance-agent.yaml: model.name: model "gpt-5" is not allowed by profile "finance" (allowed: gpt-4o-mini, gpt-4.1) (line 7, column 9)',
      'agents/finance-agent.yaml: tools[1]: tool "web" is not allowed by profile "finance" (allowed: read, edit, bash:python3, bash:git) (line 8, column 15)',
      'agents/finance-agent.yaml: tools[2]: tool "bash:curl" is not allowed by profile "finance" (allowed: read, edit, bash:python3, bash:git) (line 8, column 20)',
    ]);
    const provider = editFile(demo, 'agents/sales-agent.yaml', 'provider: openai', 'provider: anthropic');
    expect(problemLines(provider)).toEqual([
      'agents/sales-agent.yaml: model.provider: provider "anthropic" is not allowed by profile "sales" (allowed: openai) (line 6, column 13)',
    ]);
  });
});

describe('all or nothing', () => {
  it('reports the problems of every file in one run and returns no model', () => {
    const files = withFile(
      withFile(
        editFile(demo, 'agents/finance-agent.yaml', 'role: finance', 'role: finanse'),
        'profiles/hr.yaml',
        undefined,
      ),
      'agents/broken.yaml',
      'id: [',
    );
    const result = validateRegistry(files);
    expect(result.ok).toBe(false);
    expect('model' in result).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.file)).toEqual([
      'agents/broken.yaml',
      'agents/finance-agent.yaml',
      'roles.yaml',
    ]);
  });

  it('does not cascade: an invalid agent still counts as declared for delegation', () => {
    const files = editFile(demo, 'agents/accounts-payable-agent.yaml', 'provider: openai', 'provider: 42');
    expect(problemLines(files)).toEqual([
      'agents/accounts-payable-agent.yaml: model.provider: Invalid option: expected one of "anthropic"|"openai" (line 6, column 13)',
    ]);
  });

  it('gives the same problems whatever the order of the files', () => {
    const files = editFile(
      demo,
      'agents/finance-agent.yaml',
      'delegates_to: [',
      'delegates_to: [nobody-agent, ',
    );
    expect(problemLines([...files].reverse())).toEqual(problemLines(files));
  });
});
