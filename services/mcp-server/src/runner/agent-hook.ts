import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { HOOK_EVENTS, HOOK_EXIT_BLOCK } from '@orgmesh/contracts';
import type { CliIo } from './runner.cli.js';

/** A workspace-relative glob (`hr/**`, `.env`, `finance/*.csv`) as a regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Does a workspace-relative path fall under an off-limits pattern (`dir/**` covers `dir` itself)? */
export function isOffLimits(path: string, pattern: string): boolean {
  const clean = path.replace(/^\.\//, '').replace(/\/+$/, '');
  if (pattern.endsWith('/**') && clean === pattern.slice(0, -3)) return true;
  return globToRegExp(pattern).test(clean);
}

/** The off-limits patterns rendered into `.claude/settings.json` as `Read(./p)` / `Edit(./p)` denies. */
export function offLimitsFromSettings(settings: unknown): string[] {
  const deny = (settings as { permissions?: { deny?: unknown } } | null)?.permissions?.deny;
  if (!Array.isArray(deny)) return [];
  const patterns = new Set<string>();
  for (const rule of deny) {
    const match = typeof rule === 'string' ? /^(?:Read|Edit)\(\.\/(.+)\)$/.exec(rule) : null;
    if (match?.[1]) patterns.add(match[1]);
  }
  return [...patterns];
}

/**
 * Paths a tool call touches, relative to the workspace (paths outside it are not the registry's to
 * guard). Relative paths are the tool's: resolved against `cwd`, where the agent's shell may have cd'ed.
 */
export function touchedPaths(
  toolName: string,
  input: Record<string, unknown>,
  workspace: string,
  cwd: string = workspace,
): string[] {
  const candidates: string[] = [];
  for (const key of ['file_path', 'notebook_path', 'path']) {
    const value = input[key];
    if (typeof value === 'string') candidates.push(value);
  }
  if (toolName === 'Bash' && typeof input['command'] === 'string') {
    // Best effort: every word that could be a path. A shell can always hide one (variables, cd); the
    // deny rules and the agent's instructions remain the first line.
    for (const word of input['command'].split(/[\s;|&<>()`"'=]+/))
      if (word && !word.startsWith('-')) candidates.push(word);
  }
  const out: string[] = [];
  for (const candidate of candidates) {
    const full = isAbsolute(candidate) ? candidate : resolve(cwd, candidate);
    const rel = relative(workspace, full);
    if (rel && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
      out.push(rel.split(sep).join('/'));
  }
  return out;
}

async function readStdin(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `orgmesh agent hook <event> <agent-id>`, rendered into Claude Code's settings by the registry.
 * pre-tool-use reads the hook's JSON from stdin and blocks (exit 2) a file or shell tool that touches
 * one of the agent's off-limits paths, and blocks as well when it cannot tell (unreadable input or
 * settings); session-start and stop have nothing to check and exit 0.
 */
export async function runHook(argv: readonly string[], io: CliIo): Promise<number> {
  const [event, agentId] = argv;
  if (!event || !(HOOK_EVENTS as readonly string[]).includes(event) || !agentId) {
    // 2 is both the CLI's usage error and Claude Code's "block": a mis-rendered hook fails closed.
    io.err(
      `orgmesh agent hook: expected <${HOOK_EVENTS.join('|')}> <agent-id> (see orgmesh agent hook --help); blocked`,
    );
    return HOOK_EXIT_BLOCK;
  }
  if (event !== 'pre-tool-use') return 0;
  // From here on every failure blocks (exit 2): Claude Code runs the tool on any other exit code, so a
  // guard that cannot read its input or its list of off-limits paths would guard nothing.
  let hook: { tool_name?: unknown; tool_input?: unknown; cwd?: unknown };
  try {
    hook = JSON.parse((await readStdin(io.stdin)) || '{}') as typeof hook;
  } catch {
    io.err('orgmesh: blocked: the hook input is not JSON, so the off-limits check cannot run');
    return HOOK_EXIT_BLOCK;
  }
  const cwd =
    typeof hook.cwd === 'string' && hook.cwd ? hook.cwd : (io.env['ORGMESH_WORKSPACE'] ?? process.cwd());
  // The project root, where the rendered settings are, even after the agent's shell cd'ed elsewhere.
  const workspace = io.env['CLAUDE_PROJECT_DIR'] || cwd;
  let settings: unknown;
  try {
    settings = JSON.parse(await readFile(join(workspace, '.claude', 'settings.json'), 'utf8'));
  } catch (error) {
    io.err(
      `orgmesh: blocked: cannot read the off-limits paths of ${agentId} from ${join(workspace, '.claude', 'settings.json')} (${(error as NodeJS.ErrnoException).code ?? 'invalid JSON'})`,
    );
    return HOOK_EXIT_BLOCK;
  }
  const patterns = offLimitsFromSettings(settings);
  const toolName = typeof hook.tool_name === 'string' ? hook.tool_name : '';
  const input =
    typeof hook.tool_input === 'object' && hook.tool_input !== null
      ? (hook.tool_input as Record<string, unknown>)
      : {};
  for (const path of touchedPaths(toolName, input, workspace, cwd)) {
    const pattern = patterns.find((p) => isOffLimits(path, p));
    if (pattern) {
      io.err(
        `orgmesh: ${agentId} may not access ${path}: it is off-limits (${pattern}) by the registry's declaration. Ask the agent that owns it through the mesh instead.`,
      );
      return HOOK_EXIT_BLOCK;
    }
  }
  return 0;
}
