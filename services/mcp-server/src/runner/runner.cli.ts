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
import { ConfigError, parseDuration } from '@orgmesh/config';
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

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export const AGENT_HELP = `orgmesh agent: run an agent under orgmesh supervision

Usage:
  orgmesh agent run <agent-id> [options] -- <command…>
      Render the agent's config (Claude Code or Goose) into its workspace, open its session, and run
      the command there with the privacy proxy as its model endpoint and the mesh (orgmesh-mcp) wired in.
      The session becomes active when the command starts, completed when it exits 0, failed otherwise.
      Refuses (exit 2, with the fix) an unknown or invalid agent, a workspace whose rendered files were
      edited (drift), and an agent already at its limit of concurrent sessions.
    --workspace <dir>    where the agent works (default: $ORGMESH_WORKSPACES_DIR/<agent-id>,
                         i.e. .orgmesh/workspaces/<agent-id>)
    --timeout <dur>      watchdog: stop a command still running after this long (SIGTERM, then SIGKILL)
                         and fail the session with "watchdog timeout"; e.g. 90s, 30m (default), 2h; 0 = none
    --format <f>         claude-code | goose (default: claude-code for Anthropic models, goose otherwise)
    --reset-config       overwrite local edits of the rendered files with the declared config
    --max-sessions <n>   open runner sessions allowed for this agent (default ORGMESH_MAX_SESSIONS, 1)
    --quiet              do not copy the command's output to the terminal (it is logged all the same)
  orgmesh agent hook <pre-tool-use|session-start|stop> <agent-id>
      Called by Claude Code's hooks (rendered into .claude/settings.json). pre-tool-use blocks file and
      shell tools that touch the agent's off-limits paths.

The command's stdout and stderr go to <workspace>/.orgmesh/logs/<session-id>/{stdout,stderr}.log and,
unless --quiet, to this terminal. Its environment: ANTHROPIC_BASE_URL / OPENAI_BASE_URL = the privacy
proxy, ANTHROPIC_AUTH_TOKEN / OPENAI_API_KEY = the agent's orgmesh token (provider keys are removed),
ORGMESH_AGENT_ID, ORGMESH_CLIENT_ID, ORGMESH_CLIENT_SECRET, ORGMESH_GATEWAY_URL (read by orgmesh-mcp),
ORGMESH_SESSION_ID, ORGMESH_CONTEXT_ID, ORGMESH_TOKEN, ORGMESH_WORKSPACE, NATS_URL.

Environment: NATS_URL (nats://127.0.0.1:4222), ORGMESH_GATEWAY_URL (http://127.0.0.1:8080),
ORGMESH_PRIVACY_PROXY_URL or PRIVACY_PROXY_URL (http://127.0.0.1:8090), ORGMESH_CLIENT_ID (the agent id),
ORGMESH_CLIENT_SECRET (dev default: <client-id>-dev-secret), ORGMESH_MAX_SESSIONS (1),
ORGMESH_AGENT_TIMEOUT (30m), ORGMESH_HEARTBEAT_INTERVAL (10s), ORGMESH_KILL_GRACE (10s).

Exit status: the command's own; 2 refused; 69 orgmesh unreachable; 124 watchdog timeout;
130 interrupted; 143 the session was ended from outside (orgmesh sessions kill).`;

export const SESSIONS_HELP = `orgmesh sessions: agent sessions

Usage:
  orgmesh sessions [--all] [--agent <id>] [--state <state>] [--limit <n>] [--json]
      A table of sessions: agent, session id, state, uptime, last activity, who opened it.
      Default: the open ones (pending, active, paused); --all adds ended ones, newest first.
  orgmesh sessions kill <session-id> [--reason <text>]
      Fail the session (reason "killed by operator"). If a runner supervises it, the runner stops
      its command (SIGTERM, then SIGKILL).

Environment: NATS_URL (nats://127.0.0.1:4222), NATS_SUBJECT_PREFIX.`;

/** `orgmesh agent …` (argv after `agent`); resolves to the exit status. */
export async function runAgentCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(AGENT_HELP);
    return command ? EXIT_OK : EXIT_USAGE;
  }
  try {
    if (command === 'run') return await agentRun(rest, io);
    if (command === 'hook') return await runHook(rest, io);
    io.err(`orgmesh agent: unknown command "${command}" (see orgmesh agent --help)`);
    return EXIT_USAGE;
  } catch (error) {
    return reportError(`orgmesh agent ${command}`, error, io);
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
    io.err(`${what}: ${error.message} (see ${what.split(' ').slice(0, 2).join(' ')} --help)`);
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
    return error.code === 'unavailable' || error.code === 'timeout' ? 69 : EXIT_FAILED;
  }
  io.err(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_FAILED;
}

function parse<const O extends ParseArgsOptionsConfig>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true as const, strict: true as const });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
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
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(AGENT_HELP);
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
    io.err(
      `[orgmesh] ORGMESH_CLIENT_SECRET is not set: using the dev secret of "${clientId}" (works against a gateway in dev mode only)`,
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
        baseEnv: io.env,
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
  if (positionals.length) throw new UsageError(`unexpected ${positionals.join(' ')}`);
  if (values.state !== undefined && !(SESSION_STATES as readonly string[]).includes(values.state)) {
    throw new UsageError(`--state: expected one of ${SESSION_STATES.join(', ')}`);
  }
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit: expected a whole number ≥ 1');
  const config = loadRunnerConfig(io.env);
  const bus = await connect(config, 'orgmesh-sessions-cli');
  try {
    const sessions = new RunnerSessions(bus, config.rpcTimeoutMs);
    let items: Session[];
    if (values.state)
      items = await sessions.listAll({ status: values.state as SessionState, agentId: values.agent }, limit);
    else if (values.all) items = await sessions.listAll({ agentId: values.agent }, limit);
    else items = await sessions.listOpen(values.agent);
    items = [...items].sort(byAge).reverse().slice(0, limit);
    if (values.json) io.out(JSON.stringify(items, null, 2));
    else io.out(renderSessionsTable(items, Date.now()));
    return EXIT_OK;
  } finally {
    await bus.close();
  }
}

async function sessionsKill(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { reason: { type: 'string' } });
  const [id, ...extra] = positionals;
  if (!id) throw new UsageError('missing <session-id>');
  if (extra.length) throw new UsageError(`unexpected ${extra.join(' ')}`);
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
            69,
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
