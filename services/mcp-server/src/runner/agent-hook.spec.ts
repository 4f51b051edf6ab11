import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { globToRegExp, isOffLimits, offLimitsFromSettings, runHook, touchedPaths } from './agent-hook.js';

/** A Claude Code settings file exactly as the registry renders it (its golden file). */
const GOLDEN_SETTINGS = fileURLToPath(
  new URL('../../../registry/test/golden/backend-agent/claude-code/.claude/settings.json', import.meta.url),
);

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('off-limits paths', () => {
  it('matches workspace globs', () => {
    expect(globToRegExp('hr/**').test('hr/salaries.csv')).toBe(true);
    expect(globToRegExp('finance/*.csv').test('finance/q1.csv')).toBe(true);
    expect(globToRegExp('finance/*.csv').test('finance/q1/x.csv')).toBe(false);
    expect(globToRegExp('**/secret.txt').test('a/b/secret.txt')).toBe(true);
    expect(isOffLimits('hr', 'hr/**')).toBe(true);
    expect(isOffLimits('./.env', '.env')).toBe(true);
    expect(isOffLimits('hrx/file', 'hr/**')).toBe(false);
  });

  it('reads the patterns from rendered settings', async () => {
    const patterns = offLimitsFromSettings(JSON.parse(await readFile(GOLDEN_SETTINGS, 'utf8')));
    expect(patterns).toEqual(expect.arrayContaining(['.env', 'secrets/**', 'hr/**', 'finance/payroll/**']));
    expect(patterns).not.toContain('WebFetch');
    expect(offLimitsFromSettings(null)).toEqual([]);
  });

  it('finds the paths a tool call touches, inside the workspace only', () => {
    expect(touchedPaths('Read', { file_path: '/ws/hr/x.csv' }, '/ws')).toEqual(['hr/x.csv']);
    expect(touchedPaths('Edit', { file_path: '/etc/hosts' }, '/ws')).toEqual([]);
    expect(touchedPaths('Bash', { command: "cat 'hr/salaries.csv' | grep -i bob > out.txt" }, '/ws')).toEqual(
      expect.arrayContaining(['hr/salaries.csv', 'out.txt']),
    );
  });
});

describe('orgmesh agent hook', () => {
  async function hook(event: string, input: unknown, settings?: string) {
    const dir = await mkdtemp(join(tmpdir(), 'orgmesh-hook-'));
    dirs.push(dir);
    if (settings) {
      await mkdir(join(dir, '.claude'), { recursive: true });
      await writeFile(join(dir, '.claude/settings.json'), settings);
    }
    const errors: string[] = [];
    const code = await runHook([event, 'backend-agent'], {
      out: () => undefined,
      err: (line) => errors.push(line),
      env: {},
      stdin: Readable.from([JSON.stringify({ cwd: dir, ...(input as object) })]),
    });
    return { code, errors, dir };
  }

  it('blocks (exit 2) a file tool on an off-limits path, naming it, and lets others through', async () => {
    const settings = await readFile(GOLDEN_SETTINGS, 'utf8');
    const blocked = await hook(
      'pre-tool-use',
      { tool_name: 'Read', tool_input: { file_path: 'hr/salaries.csv' } },
      settings,
    );
    expect(blocked.code).toBe(2);
    expect(blocked.errors[0]).toContain(
      'backend-agent may not access hr/salaries.csv: it is off-limits (hr/**)',
    );
    expect(
      (await hook('pre-tool-use', { tool_name: 'Bash', tool_input: { command: 'cat .env' } }, settings)).code,
    ).toBe(2);
    expect(
      (await hook('pre-tool-use', { tool_name: 'Edit', tool_input: { file_path: 'src/app.ts' } }, settings))
        .code,
    ).toBe(0);
  });

  it('has nothing to check at session start and stop', async () => {
    expect((await hook('session-start', {})).code).toBe(0);
    expect((await hook('stop', {})).code).toBe(0);
  });

  it('blocks on a usage error too (exit 2: a mis-rendered hook line must not let tools through)', async () => {
    const bogus = await hook('bogus', {});
    expect(bogus.code).toBe(2);
  });

  it('fails closed: blocks when the settings or the hook input cannot be read', async () => {
    const missing = await hook('pre-tool-use', { tool_name: 'Read', tool_input: { file_path: 'src/a.ts' } });
    expect(missing.code).toBe(2);
    expect(missing.errors[0]).toMatch(/^orgmesh: blocked: cannot read the off-limits paths of backend-agent/);
    const broken = await hook('pre-tool-use', { tool_name: 'Read', tool_input: {} }, '{"permissions":');
    expect(broken.code).toBe(2);
    const errors: string[] = [];
    const garbled = await runHook(['pre-tool-use', 'backend-agent'], {
      out: () => undefined,
      err: (line) => errors.push(line),
      env: {},
      stdin: Readable.from(['not json']),
    });
    expect(garbled).toBe(2);
    expect(errors[0]).toContain('the hook input is not JSON');
  });

  it("guards from the project root (CLAUDE_PROJECT_DIR) after the agent's shell changed directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orgmesh-hook-'));
    dirs.push(dir);
    await mkdir(join(dir, '.claude'), { recursive: true });
    await mkdir(join(dir, 'src'), { recursive: true });
    await writeFile(join(dir, '.claude/settings.json'), await readFile(GOLDEN_SETTINGS, 'utf8'));
    const run = (input: unknown) =>
      runHook(['pre-tool-use', 'backend-agent'], {
        out: () => undefined,
        err: () => undefined,
        env: { CLAUDE_PROJECT_DIR: dir },
        stdin: Readable.from([JSON.stringify({ cwd: join(dir, 'src'), ...(input as object) })]),
      });
    expect(await run({ tool_name: 'Bash', tool_input: { command: 'cat ../hr/salaries.csv' } })).toBe(2);
    expect(await run({ tool_name: 'Read', tool_input: { file_path: 'app.ts' } })).toBe(0);
  });
});
