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
import {
  asksForHelp,
  ConfigError,
  EXIT,
  groupHelpAnswer,
  parseDuration,
  warnOnce,
  warnedKeys,
  type CliIo as BaseCliIo,
} from '@orgmesh/config';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { GatewayError } from '../gateway/gateway.errors.js';
import { ClientCredentialsTokenProvider } from '../gateway/token.provider.js';
import { agentTokenSource } from '../gateway/oidc.token-source.js';
import { AGENT_TOKEN_HELP, AgentTokenUsageError, printAgentToken } from './agent-token.js';
import { oidcClientSettings } from '@orgmesh/agent-sdk';
import { RunRefused, runAgent, type RunAgentDeps, type RunAgentOptions } from './agent-runner.js';
import { runHook } from './agent-hook.js';
import { loadRunnerConfig, type RunnerConfig } from './runner.config.js';
import { RunnerSessions, byAge, isTerminal } from './runner-sessions.js';
import { renderSessionsTable } from './sessions-table.js';
import {
  AGENT_HELP,
  AGENT_HOOK_HELP,
  AGENT_RUN_HELP,
  SESSIONS_HELP,
  SESSIONS_KILL_HELP,
} from './runner.help.js';

export { AGENT_HELP, AGENT_HOOK_HELP, AGENT_RUN_HELP, SESSIONS_HELP, SESSIONS_KILL_HELP };

/** What a CLI command gets from the `orgmesh` dispatcher (the same shape as `orgmesh registry`'s). */
export interface CliIo extends BaseCliIo {
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

/** `orgmesh agent …` (argv after `agent`); resolves to the exit status. */
export async function runAgentCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const helpAnswer = groupHelpAnswer(command, AGENT_HELP, io);
  if (helpAnswer !== undefined) return helpAnswer;
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
    if (command === 'token') {
      if (rest[0] === '--help' || rest[0] === '-h') {
        io.out(AGENT_TOKEN_HELP);
        return EXIT_OK;
      }
      if (rest.length) throw new UsageError(`unexpected ${rest.join(' ')}`);
      try {
        await printAgentToken(io.env, io.out);
      } catch (error) {
        if (error instanceof AgentTokenUsageError) throw new UsageError(error.message);
        throw error;
      }
      return EXIT_OK;
    }
    io.err(`orgmesh agent: unknown command "${command}" (see orgmesh agent --help)`);
    return EXIT_USAGE;
  } catch (error) {
    return reportError(
      command === 'run' || command === 'hook' || command === 'token' ? `orgmesh agent ${command}` : 'orgmesh agent',
      error,
      io,
    );
  }
}

/** `orgmesh sessions …` (argv after `sessions`). */
export async function runSessionsCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (asksForHelp(first)) {
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
  if (error instanceof GatewayError) {
    // The operator's token comes from the gateway: not reached at all is "orgmesh is not running".
    io.err(`${what}: cannot obtain a token from the gateway: ${error.message}`);
    return error.status === 0 ? EXIT.unavailable : EXIT_FAILED;
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

/** `orgmesh agent run`: parse, settle the agent's credentials, connect, and hand over to runAgent. */
async function agentRun(argv: readonly string[], io: CliIo): Promise<number> {
  const options = parseAgentRunArgs(argv);
  if (options === 'help') {
    io.out(AGENT_RUN_HELP);
    return EXIT_OK;
  }
  const config = loadRunnerConfig(io.env);
  const credentials = agentCredentials(config, options.agentId, io);
  const bus = await connect(config, 'orgmesh-agent-runner');
  try {
    const result = await runAgent(options, agentRunDeps(bus, config, credentials, io));
    return result.exitCode;
  } finally {
    await bus.close();
  }
}

/**
 * The run's own flags (before `--`) and the command (after it), checked before any config is read
 * or connection made, so a mistyped command line answers at once with a usage error.
 */
function parseAgentRunArgs(argv: readonly string[]): RunAgentOptions | 'help' {
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
  if (values.help) return 'help';
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
  return {
    agentId,
    command,
    workspace: values.workspace === undefined ? undefined : resolve(values.workspace),
    timeoutMs,
    format: values.format as ConfigFormat | undefined,
    resetConfig: values['reset-config'] ?? false,
    maxSessions,
    quiet: values.quiet ?? false,
  };
}

interface AgentCredentials {
  readonly clientId: string;
  /** Undefined only with an OpenID provider that authenticates the client another way (a key file). */
  readonly clientSecret: string | undefined;
  readonly oidc: ReturnType<typeof oidcClientSettings>;
}

/**
 * The agent's client at the token issuer: the OpenID provider's settings when configured (their
 * problems are config errors), else the gateway's dev issuer, with the dev secret said once.
 */
function agentCredentials(config: RunnerConfig, agentId: string, io: CliIo): AgentCredentials {
  const clientId = config.clientId ?? agentId;
  const oidcProblems: Array<{ key: string; reason: string }> = [];
  const oidc = oidcClientSettings(config.oidc, clientId, oidcProblems);
  if (oidcProblems.length) throw new ConfigError('orgmesh', oidcProblems);
  let clientSecret = config.clientSecret;
  if (!clientSecret && !oidc) {
    clientSecret = `${clientId}-dev-secret`;
    warnOnce(
      io,
      'dev-client-secret',
      `ORGMESH_CLIENT_SECRET is not set: using the dev secret of "${clientId}" (works against a gateway in dev mode only)`,
    );
  }
  return { clientId, clientSecret, oidc };
}

/** What runAgent needs from the CLI: the bus, the agent's token source, and the terminal. */
function agentRunDeps(
  bus: MessageBus,
  config: RunnerConfig,
  { clientId, clientSecret, oidc }: AgentCredentials,
  io: CliIo,
): RunAgentDeps {
  return {
    bus,
    config,
    // From the OpenID provider when ORGMESH_OIDC_ISSUER is set, else the gateway's dev issuer.
    tokens: agentTokenSource({
      oidc,
      gatewayUrl: config.gatewayUrl,
      clientId,
      clientSecret,
      timeoutMs: config.rpcTimeoutMs,
    }),
    clientId,
    clientSecret: clientSecret ?? '',
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
  };
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
  const tokens = operatorTokens(config, io);
  const bus = await connect(config, 'orgmesh-sessions-cli');
  try {
    const sessions = new RunnerSessions(bus, config.rpcTimeoutMs, tokens);
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
  const tokens = operatorTokens(config, io);
  const bus = await connect(config, 'orgmesh-sessions-cli');
  try {
    const sessions = new RunnerSessions(bus, config.rpcTimeoutMs, tokens);
    const reason = values.reason ?? 'killed by operator';
    try {
      // Recorded with the operator's token subject as the actor (the sessions service takes it from the token).
      const session = await sessions.apply(id, 'fail', reason);
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

/**
 * The operator's token for `orgmesh sessions`: an admin client (ORGMESH_CLIENT_ID /
 * ORGMESH_CLIENT_SECRET), by default the dev admin of `npm start`, said once. An agent's client
 * works too, and then sees and ends its own sessions only.
 */
function operatorTokens(config: RunnerConfig, io: CliIo): ClientCredentialsTokenProvider {
  const clientId = config.clientId ?? 'admin';
  let clientSecret = config.clientSecret;
  if (!clientSecret) {
    clientSecret = `${clientId}-dev-secret`;
    warnOnce(
      io,
      'dev-client-secret',
      `ORGMESH_CLIENT_SECRET is not set: using the dev secret of "${clientId}" (works against a gateway in dev mode only)`,
    );
  }
  return new ClientCredentialsTokenProvider({
    gatewayUrl: config.gatewayUrl,
    clientId,
    clientSecret,
    timeoutMs: config.rpcTimeoutMs,
  });
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
        // Every runner connection is the `runner` identity of a secured bus, whatever its client name.
        nkeySeedFile: config.nkeySeedFile,
        identity: 'runner',
        tlsCaFile: config.tlsCaFile,
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
