import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { configHash, WORKSPACE_ORGMESH_BIN, type ConfigFormat, type RenderedFile } from '@orgmesh/contracts';

/** The runner's own files inside a workspace: the render record and the logs. */
export const RUNNER_DIR = '.orgmesh';
export const RENDER_RECORD = join(RUNNER_DIR, 'rendered.json');

function sha256(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/** What the runner last wrote into a workspace, so a later run can tell its own stale files from hand edits. */
export interface RenderRecord {
  readonly agentId: string;
  readonly format: ConfigFormat;
  readonly configHash: string;
  readonly registryVersion: number;
  readonly renderedAt: string;
  /** Path → sha256 of the content written. */
  readonly files: Record<string, string>;
}

/** A rendered file whose content on disk is neither the new render nor the runner's last one. */
export interface DriftedFile {
  readonly path: string;
  readonly reason: 'edited' | 'foreign';
}

export class WorkspaceDriftError extends Error {
  override readonly name = 'WorkspaceDriftError';
  constructor(
    readonly workspace: string,
    readonly drifted: readonly DriftedFile[],
  ) {
    super(`workspace ${workspace}: ${drifted.map((f) => f.path).join(', ')} differ from the rendered config`);
  }
}

export interface PreparedWorkspace {
  readonly dir: string;
  readonly written: readonly string[];
  readonly unchanged: readonly string[];
  /** configHash of the files as read back from disk. */
  readonly configHash: string;
}

/** Rendered paths are relative and stay inside the workspace. */
export function workspacePath(dir: string, path: string): string {
  const full = resolve(dir, path);
  const rel = relative(dir, full);
  if (!rel || rel.startsWith('..') || rel.split(sep).includes('..') || resolve(dir, rel) !== full) {
    throw new Error(`rendered path "${path}" escapes the workspace`);
  }
  return full;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function readRenderRecord(dir: string): Promise<RenderRecord | undefined> {
  const raw = await readIfExists(join(dir, RENDER_RECORD));
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as RenderRecord;
    return typeof parsed === 'object' && parsed !== null && typeof parsed.files === 'object'
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes an agent's rendered config into its workspace. A file already there is overwritten only if
 * it is what the runner wrote last time (a stale render after a registry change); a file edited by
 * hand, or one the runner never wrote, is drift: nothing is written and WorkspaceDriftError names the
 * files — unless `reset` (the operator chose the declared config over the local edits).
 */
export async function prepareWorkspace(input: {
  dir: string;
  agentId: string;
  format: ConfigFormat;
  files: readonly RenderedFile[];
  configHash: string;
  registryVersion: number;
  reset: boolean;
  now: Date;
}): Promise<PreparedWorkspace> {
  const dir = resolve(input.dir);
  await mkdir(join(dir, RUNNER_DIR), { recursive: true });
  const record = await readRenderRecord(dir);
  const drifted: DriftedFile[] = [];
  const toWrite: RenderedFile[] = [];
  const unchanged: string[] = [];
  for (const file of input.files) {
    const current = await readIfExists(workspacePath(dir, file.path));
    if (current === file.content) unchanged.push(file.path);
    else if (current === undefined || input.reset) toWrite.push(file);
    else {
      const previous = record?.files[file.path];
      if (previous !== undefined && previous === sha256(current)) toWrite.push(file);
      else drifted.push({ path: file.path, reason: previous === undefined ? 'foreign' : 'edited' });
    }
  }
  if (drifted.length) throw new WorkspaceDriftError(dir, drifted);
  for (const file of toWrite) {
    const target = workspacePath(dir, file.path);
    await mkdir(dirname(target), { recursive: true });
    // Write then rename: an agent starting concurrently never reads half a file.
    const temp = `${target}.orgmesh-tmp-${process.pid}`;
    await writeFile(temp, file.content, 'utf8');
    await rename(temp, target);
  }
  const newRecord: RenderRecord = {
    agentId: input.agentId,
    format: input.format,
    configHash: input.configHash,
    registryVersion: input.registryVersion,
    renderedAt: input.now.toISOString(),
    files: Object.fromEntries(input.files.map((f) => [f.path, sha256(f.content)])),
  };
  await writeFile(join(dir, RENDER_RECORD), `${JSON.stringify(newRecord, null, 2)}\n`, 'utf8');
  const onDisk = await readWorkspaceConfig(
    dir,
    input.files.map((f) => f.path),
  );
  return { dir, written: toWrite.map((f) => f.path), unchanged, configHash: configHash(onDisk.files) };
}

/**
 * The rendered files as they are on disk now (a missing file counts as empty), their hash, and which
 * paths differ from the given contents: what a heartbeat reports and what a drift warning names.
 */
export async function readWorkspaceConfig(
  dir: string,
  paths: readonly string[],
): Promise<{ files: RenderedFile[]; configHash: string }> {
  const files: RenderedFile[] = [];
  for (const path of paths)
    files.push({ path, content: (await readIfExists(workspacePath(dir, path))) ?? '' });
  return { files, configHash: configHash(files) };
}

export function changedPaths(expected: readonly RenderedFile[], actual: readonly RenderedFile[]): string[] {
  const byPath = new Map(actual.map((f) => [f.path, f.content]));
  return expected.filter((f) => byPath.get(f.path) !== f.content).map((f) => f.path);
}

/** A value as one single-quoted POSIX shell word. */
function shellWord(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Writes `<workspace>/.orgmesh/bin/orgmesh`, which the rendered Claude Code hooks run before looking
 * on PATH: this node and this `orgmesh` by absolute path, so the hooks keep working when the workspace
 * is opened without the runner (PATH without orgmesh, another node first on it). Not a rendered file:
 * its paths are this machine's, so it stays out of the config hash.
 */
export async function installOrgmeshBin(
  dir: string,
  target: { node: string; script: string },
): Promise<string> {
  if (!isAbsolute(target.node) || !isAbsolute(target.script)) {
    throw new Error('the workspace orgmesh needs absolute paths to node and the orgmesh script');
  }
  const path = join(resolve(dir), WORKSPACE_ORGMESH_BIN);
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.orgmesh-tmp-${process.pid}`;
  await writeFile(
    temp,
    `#!/bin/sh\n# Written by orgmesh agent run: the orgmesh the Claude Code hooks of this workspace call.\nexec ${shellWord(target.node)} ${shellWord(target.script)} "$@"\n`,
    'utf8',
  );
  await chmod(temp, 0o755);
  await rename(temp, path);
  return path;
}
