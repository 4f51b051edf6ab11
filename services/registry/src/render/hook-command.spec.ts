import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKSPACE_ORGMESH_BIN } from '@orgmesh/contracts';
import { demoModel } from '../../test/demo-registry.js';
import type { RegistryModel } from '../model/registry.model.js';
import { renderAgentConfig } from './config.renderer.js';

let model: RegistryModel;
beforeAll(async () => {
  model = await demoModel();
});
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** backend-agent's .claude/settings.json as rendered. */
function renderedSettings(): {
  apiKeyHelper?: unknown;
  hooks?: Record<string, Array<{ hooks?: Array<{ command?: unknown }> }>>;
} {
  const files = renderAgentConfig(model, 'backend-agent', 'claude-code', {
    privacyProxyUrl: 'http://127.0.0.1:8090',
    gatewayUrl: 'http://127.0.0.1:8080',
    mcpCommand: 'orgmesh-mcp',
  });
  return JSON.parse(files.find((f) => f.path === '.claude/settings.json')?.content ?? '{}');
}

/** The command of one hook event exactly as rendered into backend-agent's .claude/settings.json. */
function renderedHook(event: 'PreToolUse' | 'SessionStart' | 'Stop'): string {
  const settings = renderedSettings();
  const command = settings.hooks?.[event]?.[0]?.hooks?.[0]?.command;
  if (typeof command !== 'string') throw new Error(`no ${event} hook rendered`);
  return command;
}

async function workspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orgmesh-hook-cmd-'));
  dirs.push(dir);
  return dir;
}

/** A workspace-local orgmesh standing in for the runner's: records its arguments, exits with `code`. */
async function fakeOrgmesh(dir: string, code: number, stdout = ''): Promise<void> {
  const bin = join(dir, WORKSPACE_ORGMESH_BIN);
  await mkdir(join(bin, '..'), { recursive: true });
  await writeFile(
    bin,
    `#!/bin/sh\necho "$@" > "${dir}/args"\n${stdout ? `echo "${stdout}"\n` : ''}echo "fake says no" >&2\nexit ${code}\n`,
  );
  await chmod(bin, 0o755);
}

/**
 * Runs a rendered hook command the way Claude Code runs a command hook (a shell, the hook input on
 * stdin, CLAUDE_PROJECT_DIR = the workspace), with a PATH that has no orgmesh on it.
 */
function runHook(command: string, dir: string): { status: number | null; stderr: string } {
  const result = spawnSync('/bin/sh', ['-c', command], {
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', CLAUDE_PROJECT_DIR: dir },
    input: JSON.stringify({
      tool_name: 'Read',
      tool_input: { file_path: join(dir, 'hr/salaries.csv') },
      cwd: dir,
    }),
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr };
}

describe('rendered Claude Code hooks fail closed', () => {
  it('blocks the tool call (exit 2, reason on stderr) when no orgmesh is in the workspace or on PATH', async () => {
    const dir = await workspace();
    expect(
      spawnSync('/bin/sh', ['-c', 'command -v orgmesh'], { env: { PATH: '/usr/bin:/bin' } }).status,
    ).not.toBe(0);
    const { status, stderr } = runHook(renderedHook('PreToolUse'), dir);
    expect(status).toBe(2);
    expect(stderr).toContain('orgmesh: blocked: the off-limits check of backend-agent cannot run');
    expect(stderr).toContain('orgmesh agent run backend-agent');
  });

  it("calls the workspace's orgmesh by path, and turns any failure of it into a block", async () => {
    const dir = await workspace();
    await fakeOrgmesh(dir, 1); // a crash: exit 1 would let the call through in Claude Code
    const crashed = runHook(renderedHook('PreToolUse'), dir);
    expect(crashed.status).toBe(2);
    expect(crashed.stderr).toContain('fake says no');
    await fakeOrgmesh(dir, 0);
    expect(runHook(renderedHook('PreToolUse'), dir).status).toBe(0);
    expect((await readFile(join(dir, 'args'), 'utf8')).trim()).toBe('agent hook pre-tool-use backend-agent');
  });

  it('lets the session start and stop without orgmesh (exit 2 on Stop would keep the agent from finishing)', async () => {
    const dir = await workspace();
    expect(runHook(renderedHook('SessionStart'), dir).status).toBe(0);
    expect(runHook(renderedHook('Stop'), dir).status).toBe(0);
  });
});

describe('rendered Claude Code apiKeyHelper', () => {
  /** As Claude Code runs it: /bin/sh, in the workspace; the token is what it prints on stdout. */
  const runHelper = (dir: string) =>
    spawnSync('/bin/sh', ['-c', String(renderedSettings().apiKeyHelper)], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
    });

  it("prints what the workspace's `orgmesh agent token` prints, found from the working directory", async () => {
    const dir = await workspace();
    await fakeOrgmesh(dir, 0, 'header.payload.signature');
    const result = runHelper(dir);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('header.payload.signature\n');
    expect((await readFile(join(dir, 'args'), 'utf8')).trim()).toBe('agent token');
  });

  it('fails with the reason on stderr and nothing on stdout when there is no orgmesh', async () => {
    const dir = await workspace();
    const result = runHelper(dir);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('orgmesh: no token for backend-agent');
  });

  it('passes a refusal of `orgmesh agent token` on as its own failure', async () => {
    const dir = await workspace();
    await fakeOrgmesh(dir, 69);
    expect(runHelper(dir).status).toBe(69);
  });
});
