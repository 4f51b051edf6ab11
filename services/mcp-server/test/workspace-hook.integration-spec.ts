import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binDir } from '../src/runner/runner.cli.js';
import { installOrgmeshBin } from '../src/runner/workspace.js';
import { buildForProcesses, REPO_ROOT } from './mcp-harness.js';

/** backend-agent's Claude Code settings exactly as the registry renders them (its golden file). */
const GOLDEN_SETTINGS = join(
  REPO_ROOT,
  'services/registry/test/golden/backend-agent/claude-code/.claude/settings.json',
);

/**
 * A workspace prepared by `orgmesh agent run`, then opened directly with Claude Code: no runner, no
 * orgmesh on PATH. The rendered PreToolUse command must still reach the real `orgmesh agent hook`
 * through the workspace's own orgmesh, and block off-limits paths.
 */
describe('a runner-prepared workspace opened without the runner', () => {
  let dir: string;
  let command: string;

  beforeAll(async () => {
    buildForProcesses();
    dir = await mkdtemp(join(tmpdir(), 'orgmesh-ws-hook-'));
    const settings = await readFile(GOLDEN_SETTINGS, 'utf8');
    await mkdir(join(dir, '.claude'), { recursive: true });
    await writeFile(join(dir, '.claude/settings.json'), settings);
    command = JSON.parse(settings).hooks.PreToolUse[0].hooks[0].command;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function claudeCodeRunsHook(toolName: string, toolInput: Record<string, unknown>) {
    // A PATH with neither orgmesh nor node: the workspace's orgmesh names both by absolute path.
    const result = spawnSync('/bin/sh', ['-c', command], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', CLAUDE_PROJECT_DIR: dir },
      input: JSON.stringify({
        hook_event_name: 'PreToolUse',
        tool_name: toolName,
        tool_input: toolInput,
        cwd: dir,
      }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stderr: result.stderr };
  }

  it('blocks everything, saying why, before the runner has written its orgmesh', () => {
    const blocked = claudeCodeRunsHook('Read', { file_path: join(dir, 'src/app.ts') });
    expect(blocked.status).toBe(2);
    expect(blocked.stderr).toContain('orgmesh: blocked: the off-limits check of backend-agent cannot run');
  });

  it("with the runner's orgmesh in place: blocks off-limits paths, lets the rest through", async () => {
    const bin = await installOrgmeshBin(dir, { node: process.execPath, script: join(binDir(), 'orgmesh') });
    expect(bin).toBe(join(dir, '.orgmesh/bin/orgmesh'));
    const offLimits = claudeCodeRunsHook('Read', { file_path: join(dir, 'hr/salaries.csv') });
    expect(offLimits.status).toBe(2);
    expect(offLimits.stderr).toContain(
      'backend-agent may not access hr/salaries.csv: it is off-limits (hr/**)',
    );
    expect(claudeCodeRunsHook('Bash', { command: 'cat .env' }).status).toBe(2);
    const allowed = claudeCodeRunsHook('Edit', { file_path: join(dir, 'src/app.ts') });
    expect(allowed).toEqual({ status: 0, stderr: '' });
  });
});
