import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { pino } from 'pino';
import {
  AppError,
  CONFIG_FORMATS,
  SESSION_STATES,
  type ConfigFormat,
  type Session,
  type SessionState,
} from '@orgmesh/contracts';
import { ConfigError, EXIT, formatExitCodes, parseDuration, warnOnce, warnedKeys } from '@orgmesh/config';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { ClientCredentialsTokenProvider } from '../gateway/token.provider.js';
import { RunRefused, runAgent } from './agent-runner.js';
import { runHook } from './agent-hook.js';
import { loadRunnerConfig, type RunnerConfig } from './runner.config.js';
import { RunnerSessions, byAge, isTerminal } from './runner-sessions.js';
import { renderSessionsTable } from './sessions-table.js';

/** What a CLI command gets from the `orgmesh` dispatcher (the same shape as `orgmesh registry`'s). */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The terminal, for the command's own output (null: collect nothing). */
  readonly stdout?: NodeJS.WritableStream | null;
  readonly stderr?: NodeJS.WritableStream | null;
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Aborted on Ctrl-C / SIGTERM; the reason names the signal. */
  readonly interrupt?: AbortSignal;
}

const EXIT_OK = EXIT.ok;
const EXIT_FAILED = EXIT.failed;
const EXIT_USAGE = EXIT.usage;

const RUN_USAGE = `  orgmesh agent run <agent-id> [options] -- <command…>
      Render the agent's config (Claude Code or Goose) into its workspace, open its session, and run
      the command there with the privacy proxy as its model endpoint and the mesh (orgmesh-mcp) wired in.
      The session becomes active when the command starts, completed when it exits 0, failed otherwise.
      Refuses (exit 125, with the fix) an unknown or invalid agent, a workspace whose rendered files were
      edited (drift), and an agent already at its limit of concurrent sessions.
    --workspace <dir>    where the agent works (default: $ORGMESH_WORKSPACES_DIR/<agent-id>,
                         i.e. .orgmesh/workspaces/<agent-id>)
    --timeout <dur>      watchdog: stop a command still running after this long (SIGTERM, then SIGKILL)
                         and fail the session with "watchdog timeout"; e.g. 90s, 30m (default), 2h; 0 = none
    --format <f>         claude-code | goose (default: claude-code for Anthropic models, goose otherwise)
    --reset-config       overwrite local edits of the rendered files with the declared config
    --max-sessions <n>   open runner sessions allowed for this agent (default ORGMESH_MAX_SESSIONS, 1)
    --quiet              do not copy the command's output to the terminal (it is logged all the same)
    -h, --help           this help`;

const HOOK_USAGE = `  orgmesh agent hook <pre-tool-use|session-start|stop> <agent-id>
      Called by Claude Code's hooks (rendered into .claude/settings.json), with the hook's JSON on stdin.
      pre-tool-use blocks (exit 2, the reason on stderr) file and shell tools that touch the agent's
      off-limits paths, and blocks as well when it cannot tell; session-start and stop exit 0.
    -h, --help           this help`;

const RUN_DETAILS = `The command's stdout and stderr go to <workspace>/.orgmesh/logs/<session-id>/{stdout,stderr}.log and,
unless --quiet, to this terminal. Its environment: ANTHROPIC_BASE_URL / OPENAI_BASE_URL = the privacy
proxy, ANTHROPIC_AUTH_TOKEN / OPENAI_API_KEY = the agent's orgmesh token (provider keys are removed),
ORGMESH_AGENT_ID, ORGMESH_CLIENT_ID, ORGMESH_CLIENT_SECRET, ORGMESH_GATEWAY_URL (read by orgmesh-mcp),
ORGMESH_SESSION_ID, ORGMESH_CONTEXT_ID, ORGMESH_TOKEN, ORGMESH_WORKSPACE, NATS_URL.

Environment: NATS_URL (nats://127.0.0.1:4222), ORGMESH_GATEWAY_URL (http://127.0.0.1:8080),
ORGMESH_PRIVACY_PROXY_URL or PRIVACY_PROXY_URL (http://127.0.0.1:8090), ORGMESH_CLIENT_ID (the agent id),
ORGMESH_CLIENT_SECRET (dev default: <client-id>-dev-secret), ORGMESH_MAX_SESSIONS (1),
ORGMESH_AGENT_TIMEOUT (30m), ORGMESH_HEARTBEAT_INTERVAL (10s), ORGMESH_KILL_GRACE (10s).`;

const EXIT_CODES = `Exit codes (the same table for every orgmesh command; agent run adds the command's own status,
126 cannot execute it, 127 not found):
${formatExitCodes()}`;

export const AGENT_HELP = `orgmesh agent: run an agent under orgmesh supervision

Usage:
${RUN_USAGE}
${HOOK_USAGE}

Examples:
  orgmesh agent run finance-agent -- goose run --text "Prepare the Q3 budget"
  orgmesh agent run legal-agent --timeout 15m -- claude -p "Review contracts/nda.md"
  orgmesh agent run --help

${RUN_DETAILS}

${EXIT_CODES}`;

export const AGENT_RUN_HELP = `orgmesh agent run: run an agent under orgmesh supervision

Usage:
${RUN_USAGE}

Examples:
  orgmesh agent run finance-agent -- goose run --text "Prepare the Q3 budget"
  orgmesh agent run legal-agent --format claude-code --timeout 15m -- claude -p "Review contracts/nda.md"
  orgmesh agent run finance-agent --reset-config --quiet -- ./my-agent.sh

${RUN_DETAILS}

${EXIT_CODES}`;

export const AGENT_HOOK_HELP = `orgmesh agent hook: Claude Code's hook into orgmesh

Usage:
${HOOK_USAGE}

Example (what Claude Code runs before a tool call):
  echo '{"tool_name":"Read","tool_input":{"file_path":"hr/salaries.csv"}}' | orgmesh agent hook pre-tool-use finance-agent

Exit codes: 0 allow, 2 block (Claude Code shows stderr to the model; a usage error blocks too, so a
broken hook never lets a tool through).`;

const SESSIONS_USAGE = `  orgmesh sessions [--all] [--agent <id>] [--state <state>] [--limit <n|all>] [--json]
      A table of sessions, newest first: agent, session id, state, duration (so far, or from start to
      end for an ended one), last activity, who opened it. Default: the open ones (pending, active,
      paused); --all adds ended ones. At most --limit rows (default 50; all: every one); when there are
      more, a last line says so.`;

const KILL_USAGE = `  orgmesh sessions kill <session-id> [--reason <text>]
      Fail the session (reason "killed by operator"). If a runner supervises it, the runner stops
      its command (SIGTERM, then SIGKILL) and exits 143.`;

export const SESSIONS_HELP = `orgmesh sessions: agent sessions

Usage:
${SESSIONS_USAGE}
${KILL_USAGE}
  Both take -h/--help.

Examples:
  orgmesh sessions
  orgmesh sessions --all --agent finance-agent --limit 200
  orgmesh sessions --state failed --json
  orgmesh sessions kill 3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f --reason "stuck on a loop"

Environment: NATS_URL (nats://127.0.0.1:4222), NATS_SUBJECT_PREFIX.

Exit codes:
${formatExitCodes()}`;

export const SESSIONS_KILL_HELP = `orgmesh sessions kill: fail a session as an operator

Usage:
${KILL_USAGE}
    --reason <text>      recorded as the failure reason (default "killed by operator")
    -h, --help           this help

Example:
  orgmesh sessions kill 3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f --reason "stuck on a loop"
  (the ids are in the second column of orgmesh sessions)

Exit codes: 0 failed it, 1 it had already ended or does not exist, 2 usage error (e.g. not a session
id), 69 NATS or the sessions service did not answer.`;

/** `orgmesh agent …` (argv after `agent`); resolves to the exit status. */
export async function runAgentCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command) {
    io.err(AGENT_HELP);
    return EXIT_USAGE;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    io.out(AGENT_HELP);
    return EXIT_OK;
  }
  try {
    if (command === 'run') return await agentRun(rest, io);
    if (command === 'hook') {
      // Only the hook's own arguments: a hook command line is written by the renderer, not typed.
      if (rest[0] === '--help' || rest[0] === '-h') {
        io.out(AGENT_HOOK_HELP);
        return EXIT_OK;
      }
      return await runHook(rest, io);
    }
    io.err(`orgmesh agent: unknown command "${command}" (see orgmesh agent --help)`);
    return EXIT_USAGE;
  } catch (error) {
    return reportError(
      command === 'run' || command === 'hook' ? `orgmesh agent ${command}` : 'orgmesh agent',
      error,
      io,
    );
  }
}

/** `orgmesh sessions …` (argv after `sessions`). */
export async function runSessionsCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    io.out(SESSIONS_HELP);
    return EXIT_OK;
  }
  try {
    if (first === 'kill') return await sessionsKill(rest, io);
    if (first !== undefined && !first.startsWith('-')) {
      io.err(`orgmesh sessions: unknown command "${first}" (see orgmesh sessions --help)`);
      return EXIT_USAGE;
    }
    return await sessionsList(argv, io);
  } catch (error) {
    return reportError(first === 'kill' ? 'orgmesh sessions kill' : 'orgmesh sessions', error, io);
  }
}

class UsageError extends Error {}

function reportError(what: string, error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(`${what}: ${error.message} (see ${what} --help)`);
    return EXIT_USAGE;
  }
  if (error instanceof RunRefused) {
    io.err(`${what}: refused: ${error.problem}`);
    io.err(`  fix: ${error.fix}`);
    return error.exitCode;
  }
  if (error instanceof ConfigError) {
    io.err(`${what}: ${error.message}`);
    return EXIT_USAGE;
  }
  if (error instanceof AppError) {
    io.err(`${what}: ${error.code}: ${error.message}`);
    return error.code === 'unavailable' || error.code === 'timeout' ? EXIT.unavailable : EXIT_FAILED;
  }
  io.err(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_FAILED;
}

/** node:util parseArgs, with -h/--help on every command and its errors as usage errors. */
function parse<const O extends ParseArgsOptionsConfig>(args: readonly string[], options: O) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } } as O & {
        help: { type: 'boolean'; short: 'h' };
      },
      allowPositionals: true as const,
      strict: true as const,
    });
  } catch (error) {
    // parseArgs's messages quote with mismatched quotes ('-- "--help"); keep the first sentence only.
    const message = (error instanceof Error ? error.message : String(error)).replace(
      /^\w+ \[ERR_\w+\]: /,
      '',
    );
    throw new UsageError(message.split('. ')[0] ?? message);
  }
}

/** The directory holding the `orgmesh-mcp` and `orgmesh` executables (services/mcp-server/bin). */
export function binDir(): string {
  return fileURLToPath(new URL('../../bin', import.meta.url));
}

async function agentRun(argv: readonly string[], io: CliIo): Promise<number> {
  const separator = argv.indexOf('--');
  const own = separator < 0 ? argv : argv.slice(0, separator);
  const command = separator < 0 ? [] : argv.slice(separator + 1);
  const { values, positionals } = parse(own, {
    workspace: { type: 'string' },
    timeout: { type: 'string' },
    format: { type: 'string' },
    'reset-config': { type: 'boolean' },
    'max-sessions': { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (values.help) {
    io.out(AGENT_RUN_HELP);
    return EXIT_OK;
  }
  const [agentId, ...extra] = positionals;
  if (!agentId) throw new UsageError('missing <agent-id>');
  if (extra.length) throw new UsageError(`unexpected ${extra.join(' ')}: put the command after --`);
  if (command.length === 0)
    throw new UsageError('missing the command: orgmesh agent run <agent-id> -- <command…>');
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    timeoutMs = parseDuration(values.timeout);
    if (timeoutMs === undefined)
      throw new UsageError(
        `--timeout: expected a duration with a unit, like 90s, 30m, 2h (or 0 for none), got "${values.timeout}"`,
      );
  }
  if (values.format !== undefined && !(CONFIG_FORMATS as readonly string[]).includes(values.format)) {
    throw new UsageError(`--format: expected ${CONFIG_FORMATS.join(' or ')}`);
  }
  let maxSessions: number | undefined;
  if (values['max-sessions'] !== undefined) {
    maxSessions = Number(values['max-sessions']);
    if (!Number.isInteger(maxSessions) || maxSessions < 1)
      throw new UsageError('--max-sessions: expected a whole number ≥ 1');
  }
  const config = loadRunnerConfig(io.env);
  const clientId = config.clientId ?? agentId;
  let clientSecret = config.clientSecret;
  if (!clientSecret) {
    clientSecret = `${clientId}-dev-secret`;
    warnOnce(
      io,
      'dev-client-secret',
      `ORGMESH_CLIENT_SECRET is not set: using the dev secret of "${clientId}" (works against a gateway in dev mode only)`,
    );
  }
  const bus = await connect(config, 'orgmesh-agent-runner');
  try {
    const result = await runAgent(
      {
        agentId,
        command,
        workspace: values.workspace === undefined ? undefined : resolve(values.workspace),
        timeoutMs,
        format: values.format as ConfigFormat | undefined,
        resetConfig: values['reset-config'] ?? false,
        maxSessions,
        quiet: values.quiet ?? false,
      },
      {
        bus,
        config,
        tokens: new ClientCredentialsTokenProvider({
          gatewayUrl: config.gatewayUrl,
          clientId,
          clientSecret,
          timeoutMs: config.rpcTimeoutMs,
        }),
        clientId,
        clientSecret,
        io: {
          say: (line) => io.err(`[orgmesh] ${line}`),
          stdout: io.stdout ?? null,
          stderr: io.stderr ?? null,
          inheritStdin: Boolean(io.stdin?.isTTY),
        },
        // The commands it starts (hooks, orgmesh-mcp, a nested agent run) do not repeat its warnings.
        baseEnv: warnedKeys(io.env) ? { ...io.env, ORGMESH_WARNED: warnedKeys(io.env) } : io.env,
        binDir: binDir(),
        interrupt: io.interrupt,
      },
    );
    return result.exitCode;
  } finally {
    await bus.close();
  }
}

async function sessionsList(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    all: { type: 'boolean' },
    agent: { type: 'string' },
    state: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(SESSIONS_HELP);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`unexpected ${positionals.join(' ')}`);
  if (values.state !== undefined && !(SESSION_STATES as readonly string[]).includes(values.state)) {
    throw new UsageError(`--state: expected one of ${SESSION_STATES.join(', ')}`);
  }
  const limit = parseLimit(values.limit);
  const config = loadRunnerConfig(io.env);
  const bus = await connect(config, 'orgmesh-sessions-cli');
  try {
    const sessions = new RunnerSessions(bus, config.rpcTimeoutMs);
    // One more than shown, to know whether there are more (the service lists newest first, page by page).
    const want = limit === Infinity ? Infinity : limit + 1;
    let items: Session[];
    if (values.state)
      items = await sessions.listAll({ status: values.state as SessionState, agentId: values.agent }, want);
    else if (values.all) items = await sessions.listAll({ agentId: values.agent }, want);
    else items = await sessions.listOpen(values.agent);
    items = [...items].sort(byAge).reverse();
    const shown = items.slice(0, limit);
    if (values.json) io.out(JSON.stringify(shown, null, 2));
    else io.out(renderSessionsTable(shown, Date.now()));
    if (items.length > shown.length) {
      // On stderr, so --json output stays parseable and a pipe to a file keeps only the rows.
      const total = values.all || values.state ? `more than ${shown.length}` : String(items.length);
      io.err(`showing the ${shown.length} newest of ${total} sessions; --limit <n> or --limit all for more`);
    }
    return EXIT_OK;
  } finally {
    await bus.close();
  }
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 50;
  if (raw === 'all') return Infinity;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit: expected a whole number ≥ 1 or "all", got "${raw}"`);
  return limit;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function sessionsKill(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { reason: { type: 'string' } });
  if (values.help) {
    io.out(SESSIONS_KILL_HELP);
    return EXIT_OK;
  }
  const [id, ...extra] = positionals;
  if (!id) throw new UsageError('missing <session-id>');
  if (extra.length) throw new UsageError(`unexpected ${extra.join(' ')}`);
  // Checked here: the sessions service would refuse it too, but as "invalid rpc.sessions.v1.apply-event request".
  if (!UUID.test(id))
    throw new UsageError(
      `"${id}" is not a session id: a session id is a UUID (e.g. 3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f), as orgmesh sessions lists them`,
    );
  const config = loadRunnerConfig(io.env);
  const bus = await connect(config, 'orgmesh-sessions-cli');
  try {
    const sessions = new RunnerSessions(bus, config.rpcTimeoutMs);
    const reason = values.reason ?? 'killed by operator';
    try {
      const session = await sessions.apply(id, 'fail', reason, 'operator');
      io.out(`session ${session.id} (${session.agentId}) failed: ${reason}`);
      if (session.metadata['source'] === 'orgmesh-runner')
        io.out(`its runner (pid ${String(session.metadata['pid'])}) stops the command`);
      return EXIT_OK;
    } catch (error) {
      if (error instanceof AppError && error.code === 'session_illegal_transition') {
        const current = await sessions.get(id);
        io.err(
          `orgmesh sessions kill: session ${id} has already ended (${current.status}${isTerminal(current.status) ? '' : ', still open'})`,
        );
        return EXIT_FAILED;
      }
      if (error instanceof AppError && error.code === 'session_not_found') {
        io.err(`orgmesh sessions kill: no session ${id} (orgmesh sessions --all lists them)`);
        return EXIT_FAILED;
      }
      throw error;
    }
  } finally {
    await bus.close();
  }
}

/** Connects to NATS, or explains what is missing instead of waiting forever. */
export async function connect(config: RunnerConfig, name: string): Promise<MessageBus> {
  const logger = createLogger({ service: name, level: 'error', destination: pino.destination(2) });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RunRefused(
            `NATS does not answer at ${config.natsUrl} (waited ${config.connectTimeoutMs} ms)`,
            'start the suite (npm start), or set NATS_URL to the NATS server orgmesh uses',
            EXIT.unavailable,
          ),
        ),
      config.connectTimeoutMs,
    );
  });
  try {
    return await Promise.race([
      connectBus({
        url: config.natsUrl,
        name,
        subjectPrefix: config.subjectPrefix,
        nameSuffix: config.nameSuffix,
        logger,
        requestTimeoutMs: config.rpcTimeoutMs,
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
