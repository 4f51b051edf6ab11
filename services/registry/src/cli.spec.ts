import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_ORG_CHART, DEMO_REGISTRY_DIR } from '../test/demo-registry.js';
import { runRegistryCli, type CliDependencies, type OrgImporter } from './cli.js';

async function run(
  argv: string[],
  deps?: CliDependencies,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRegistryCli(
    argv,
    { out: (l) => out.push(l), err: (l) => err.push(l), env: {} },
    deps,
  );
  return { code, out, err };
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'registry-cli-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true });
});

describe('orgmesh registry validate', () => {
  it('exits 0 with a short summary for the demo registry', async () => {
    const { code, out, err } = await run(['validate', DEMO_REGISTRY_DIR]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/: valid: 6 roles, 7 profiles, 26 agents \(\d+\.\d ms\)$/);
  });

  it('exits 1 with one line per problem', async () => {
    const dir = join(scratch, 'broken');
    await cp(DEMO_REGISTRY_DIR, dir, { recursive: true });
    await writeFile(
      join(dir, 'agents/finance-agent.yaml'),
      (await readFile(join(dir, 'agents/finance-agent.yaml'), 'utf8')).replace(
        'delegates_to: [',
        'delegates_to: [ghost-agent, ',
      ),
    );
    await rm(join(dir, 'profiles/hr.yaml'));
    const { code, out, err } = await run(['validate', dir]);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([
      'agents/finance-agent.yaml: delegates_to[0]: unknown agent "ghost-agent" (line 9, column 16)',
      'roles.yaml: roles[3].id: role "hr" has no profile (add profiles/hr.yaml with role: hr) (line 12, column 9)',
      `2 problems in ${dir}; nothing loaded`,
    ]);
  });

  it('exits 1 for a missing directory', async () => {
    const { code, err } = await run(['validate', join(scratch, 'nope')]);
    expect(code).toBe(1);
    expect(err[0]).toBe(`${join(scratch, 'nope')}: (root): directory not found`);
  });

  it('exits 2 on usage errors, pointing at --help', async () => {
    expect(await run(['validate'])).toMatchObject({
      code: 2,
      err: ['orgmesh registry validate: expected 1 argument, got 0 (see orgmesh registry --help)'],
    });
    expect(await run(['validate', 'a', '--bogus'])).toMatchObject({ code: 2 });
    expect(await run(['frobnicate'])).toMatchObject({
      code: 2,
      err: ['orgmesh registry: unknown command "frobnicate" (see orgmesh registry --help)'],
    });
  });

  it('explains itself with --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('orgmesh registry validate <dir>');
    expect(out.join('\n')).toContain('agents/<id>.yaml');
    expect((await run(['validate', '--help'])).code).toBe(0);
  });

  it.each(['validate', 'load', 'import-org', 'render', 'policy'])(
    'orgmesh registry %s --help: only its usage and options, an example, the exit codes; before any argument check',
    async (command) => {
      const { code, out, err } = await run([command, '--help']);
      expect(err).toEqual([]);
      expect(code).toBe(0);
      const text = out.join('\n');
      expect(text).toContain(`Usage:\n  orgmesh registry ${command} `);
      expect(text).toMatch(new RegExp(`Examples?:\\n  orgmesh registry ${command} [^<\\n]+\\n`));
      expect(text).toContain('69  unavailable');
      for (const other of [
        'validate <dir>',
        'load <dir>',
        'import-org <csv>',
        'render <dir>',
        'policy <dir>',
      ])
        if (!other.startsWith(command)) expect(text).not.toContain(`orgmesh registry ${other}`);
    },
  );

  it('prints the overview on stderr and exits 2 without a command', async () => {
    const { code, out, err } = await run([]);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toContain('orgmesh registry load <dir> [--dry-run] [--yes]');
  });

  it('load: refuses to run without a way to confirm, before reading or contacting anything', async () => {
    const { code, err } = await run(['load', join(scratch, 'does-not-exist')]);
    expect(code).toBe(2);
    expect(err[0]).toContain(
      'stdin is not a terminal, so nobody can confirm: pass --yes to load, or --dry-run',
    );
    const both = await run(['load', DEMO_REGISTRY_DIR, '--yes', '--dry-run']);
    expect(both.code).toBe(2);
    expect(both.err[0]).toContain('--dry-run and --yes exclude each other');
  });
});

describe('orgmesh registry import-org', () => {
  it('accepts the sample org chart in a dry run, checking roles against the registry next to it', async () => {
    const { code, out } = await run(['import-org', DEMO_ORG_CHART, '--dry-run']);
    expect(code).toBe(0);
    expect(out).toEqual([
      `${DEMO_ORG_CHART}: valid: 60 users, 1 at the top, 6 departments (dry run: nothing imported)`,
    ]);
  });

  it('refuses a bad chart with one line per problem and imports nothing', async () => {
    const bad = join(scratch, 'bad.csv');
    const sample = await readFile(DEMO_ORG_CHART, 'utf8');
    await writeFile(
      bad,
      sample.replace('u00002,u00001,', 'u00002,u00003,').replace(',finance,julia', ',accounting,julia'),
    );
    const importOrg = jest.fn<OrgImporter>();
    const { code, err } = await run(['import-org', bad, '--registry', DEMO_REGISTRY_DIR], { importOrg });
    expect(code).toBe(1);
    expect(err).toEqual([
      `${bad}: line 3.reports_to_id: reporting cycle u00002 → u00003 → u00002 (lines 3, 4)`,
      `${bad}: line 5.role: unknown role "accounting" (known: engineering, finance, hr, legal, manager, sales)`,
      `2 problems in ${bad}; nothing imported`,
    ]);
    expect(importOrg).not.toHaveBeenCalled();
  });

  it('imports through the injected importer once the chart is valid', async () => {
    const importOrg = jest.fn<OrgImporter>(async () => ({ orgVersion: 3, users: 60 }));
    const { code, out } = await run(['import-org', DEMO_ORG_CHART], { importOrg });
    expect(code).toBe(0);
    expect(importOrg).toHaveBeenCalledWith(await readFile(DEMO_ORG_CHART, 'utf8'), DEMO_ORG_CHART);
    expect(out).toEqual([`${DEMO_ORG_CHART}: imported 60 users as org version 3`]);
  });

  it('says so when it cannot reach the registry service, rather than pretending to import', async () => {
    const { code, err } = await run(['import-org', DEMO_ORG_CHART]);
    expect(code).toBe(2);
    expect(err[0]).toContain('cannot reach the registry service: run with --dry-run to check only');
  });

  it('reports a missing CSV file', async () => {
    expect(await run(['import-org', join(scratch, 'none.csv'), '--dry-run'])).toMatchObject({
      code: 1,
      err: [`${join(scratch, 'none.csv')}: (root): file not found`],
    });
  });
});

describe('orgmesh registry render and policy', () => {
  it("writes an agent's files and prints the config hash", async () => {
    const out = join(scratch, 'workspace');
    const result = await run(['render', DEMO_REGISTRY_DIR, 'legal-agent', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.out.at(-1)).toMatch(/^config hash: sha256:[0-9a-f]{64}$/);
    expect(await readFile(join(out, '.gooseignore'), 'utf8')).toContain('hr/**');
  });

  it('says on stderr where the render is narrower than the registry (Goose cannot limit a shell to python3)', async () => {
    const goose = await run([
      'render',
      DEMO_REGISTRY_DIR,
      'finance-agent',
      '--out',
      join(scratch, 'finance'),
    ]);
    expect(goose.code).toBe(0);
    expect(goose.err).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^warning: goose: bash:python3: not granted to Goose: /),
      ]),
    );
    const claude = await run(['render', DEMO_REGISTRY_DIR, 'contracts-agent', '--format', 'claude-code']);
    expect(claude).toMatchObject({ code: 0, err: [] });
  });

  it('fails with the reason for an impossible render', async () => {
    expect(await run(['render', DEMO_REGISTRY_DIR, 'legal-agent', '--format', 'claude-code'])).toMatchObject({
      code: 1,
      err: [
        'orgmesh registry render: agent "legal-agent" uses a model of provider "openai"; Claude Code speaks only the Anthropic API (render format goose instead)',
      ],
    });
    expect(await run(['render', DEMO_REGISTRY_DIR, 'legal-agent', '--format', 'vscode'])).toMatchObject({
      code: 2,
    });
  });

  it('prints a policy decision with its rule', async () => {
    expect(await run(['policy', DEMO_REGISTRY_DIR, 'legal-agent', 'finance', 'task'])).toMatchObject({
      code: 1,
      out: ['deny: default-deny: profiles/legal.yaml grants no tasks to finance (mesh.send_task_to)'],
    });
    expect(await run(['policy', DEMO_REGISTRY_DIR, 'manager-agent', 'legal-agent', 'task'])).toMatchObject({
      code: 0,
      out: ['allow: profiles/manager.yaml: mesh.send_task_to[1] (legal)'],
    });
  });
});
