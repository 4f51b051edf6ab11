import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configHash, type RenderedFile } from '@orgmesh/contracts';
import {
  RENDER_RECORD,
  WorkspaceDriftError,
  changedPaths,
  prepareWorkspace,
  readWorkspaceConfig,
  workspacePath,
} from './workspace.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orgmesh-ws-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const v1: RenderedFile[] = [
  { path: '.goosehints', content: 'be careful\n' },
  { path: '.config/goose/config.yaml', content: 'GOOSE_MODE: auto\n' },
];
const v2: RenderedFile[] = [
  { path: '.goosehints', content: 'be very careful\n' },
  { path: '.config/goose/config.yaml', content: 'GOOSE_MODE: auto\n' },
];

function prepare(dir: string, files: RenderedFile[], reset = false) {
  return prepareWorkspace({
    dir,
    agentId: 'finance-agent',
    format: 'goose',
    files,
    configHash: configHash(files),
    registryVersion: 1,
    reset,
    now: new Date('2026-01-01T00:00:00Z'),
  });
}

// The registry's golden render of finance-agent for Goose (read as data; the registry's spec checks it
// expects exactly configHash of these files, the agents' spec that they report it too).
const GOLDEN = fileURLToPath(new URL('../../../registry/test/golden/finance-agent/goose', import.meta.url));

describe('the hash a runner reports', () => {
  it("is the registry's expected hash of the render it wrote, read back from the workspace", async () => {
    const entries = await readdir(GOLDEN, { withFileTypes: true, recursive: true });
    const golden: RenderedFile[] = await Promise.all(
      entries
        .filter((e) => e.isFile())
        .map(async (e) => ({
          path: relative(GOLDEN, join(e.parentPath, e.name)),
          content: await readFile(join(e.parentPath, e.name), 'utf8'),
        })),
    );
    const dir = await tempDir();
    expect((await prepare(dir, golden)).configHash).toBe(configHash(golden));
    const onDisk = await readWorkspaceConfig(
      dir,
      golden.map((f) => f.path),
    );
    expect(onDisk.configHash).toBe(configHash(golden));
    expect(configHash(v1)).not.toBe(configHash(v2));
  });
});

describe('prepareWorkspace', () => {
  it('writes a fresh render, records it, and reports the hash of what is on disk', async () => {
    const dir = await tempDir();
    const prepared = await prepare(dir, v1);
    expect(prepared).toMatchObject({
      written: ['.goosehints', '.config/goose/config.yaml'],
      unchanged: [],
      configHash: configHash(v1),
    });
    expect(await readFile(join(dir, '.config/goose/config.yaml'), 'utf8')).toBe('GOOSE_MODE: auto\n');
    expect(JSON.parse(await readFile(join(dir, RENDER_RECORD), 'utf8'))).toMatchObject({
      agentId: 'finance-agent',
      format: 'goose',
      configHash: configHash(v1),
    });
    expect((await prepare(dir, v1)).unchanged).toEqual(['.goosehints', '.config/goose/config.yaml']);
  });

  it('replaces its own stale render after a registry change', async () => {
    const dir = await tempDir();
    await prepare(dir, v1);
    expect((await prepare(dir, v2)).written).toEqual(['.goosehints']);
    expect(await readFile(join(dir, '.goosehints'), 'utf8')).toBe('be very careful\n');
  });

  it('refuses a file edited since it rendered it, and one it never wrote, writing nothing', async () => {
    const dir = await tempDir();
    await prepare(dir, v1);
    await writeFile(join(dir, '.goosehints'), 'be careless\n');
    const error = (await prepare(dir, v2).catch((e: unknown) => e)) as WorkspaceDriftError;
    expect(error).toBeInstanceOf(WorkspaceDriftError);
    expect(error.drifted).toEqual([{ path: '.goosehints', reason: 'edited' }]);
    expect(await readFile(join(dir, '.goosehints'), 'utf8')).toBe('be careless\n');

    const other = await tempDir();
    await mkdir(join(other, '.config/goose'), { recursive: true });
    await writeFile(join(other, '.config/goose/config.yaml'), 'GOOSE_MODE: chaos\n');
    await expect(prepare(other, v1)).rejects.toMatchObject({
      drifted: [{ path: '.config/goose/config.yaml', reason: 'foreign' }],
    });
    await expect(readFile(join(other, '.goosehints'), 'utf8')).rejects.toThrow();
  });

  it('overwrites local edits when reset', async () => {
    const dir = await tempDir();
    await prepare(dir, v1);
    await writeFile(join(dir, '.goosehints'), 'be careless\n');
    expect((await prepare(dir, v1, true)).written).toEqual(['.goosehints']);
    expect(await readFile(join(dir, '.goosehints'), 'utf8')).toBe('be careful\n');
  });

  it('reads back what runs and names what changed', async () => {
    const dir = await tempDir();
    await prepare(dir, v1);
    await writeFile(join(dir, '.goosehints'), 'edited\n');
    const onDisk = await readWorkspaceConfig(
      dir,
      v1.map((f) => f.path),
    );
    expect(onDisk.configHash).not.toBe(configHash(v1));
    expect(changedPaths(v1, onDisk.files)).toEqual(['.goosehints']);
  });

  it('keeps rendered paths inside the workspace', () => {
    expect(workspacePath('/ws', '.claude/settings.json')).toBe('/ws/.claude/settings.json');
    expect(() => workspacePath('/ws', '../etc/passwd')).toThrow(/escapes the workspace/);
    expect(() => workspacePath('/ws', '/etc/passwd')).toThrow(/escapes the workspace/);
  });
});
