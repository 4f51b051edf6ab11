import { join, resolve } from 'node:path';
import { AgentHeartbeat, GetAgent, RenderConfig, type ConfigFormat, type Session } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { claimsOf, type TokenSource } from '../gateway/token.provider.js';
import type { RunnerConfig } from './runner.config.js';
import {
  RunRefused,
  driftRefusal,
  limitRefusal,
  refuseOnError,
  registryRefusal,
  tokenRefusal,
} from './run-refusals.js';
import { RunSupervisor, type PreparedRun } from './run-supervisor.js';
import { RunnerSessions, isOrphaned, isRunnerSession, runnerMetadata } from './runner-sessions.js';
import { WorkspaceDriftError, installOrgmeshBin, prepareWorkspace } from './workspace.js';

export { RUN_EXIT, RunRefused } from './run-refusals.js';
export { apiKeyHelperTtl } from './run-supervisor.js';

export interface RunAgentOptions {
  readonly agentId: string;
  /** The command and its arguments. */
  readonly command: readonly string[];
  readonly workspace?: string;
  /** The watchdog; 0 disables it; default the config's ORGMESH_AGENT_TIMEOUT. */
  readonly timeoutMs?: number;
  /** Default: claude-code for an Anthropic model, goose otherwise. */
  readonly format?: ConfigFormat;
  /** Overwrite local edits of the rendered files with the declared config. */
  readonly resetConfig?: boolean;
  readonly maxSessions?: number;
  /** Do not copy the command's output to the terminal (it is still logged). */
  readonly quiet?: boolean;
}

export interface RunnerIo {
  /** The runner's own lines (status, warnings) go here: stderr, so the command's stdout stays its own. */
  readonly say: (line: string) => void;
  readonly stdout: NodeJS.WritableStream | null;
  readonly stderr: NodeJS.WritableStream | null;
  readonly inheritStdin: boolean;
}

export interface RunAgentDeps {
  readonly bus: MessageBus;
  readonly config: RunnerConfig;
  /** The agent's client credentials at the gateway. */
  readonly tokens: TokenSource;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly io: RunnerIo;
  /** The environment the command inherits (the runner's own). */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  /** Directory with the `orgmesh-mcp` and `orgmesh` executables, put first on the command's PATH. */
  readonly binDir: string;
  /** Aborted when the operator interrupts the runner (Ctrl-C, SIGTERM); the reason names the signal. */
  readonly interrupt?: AbortSignal;
  /** Called once the session exists (tests, and the CLI's own bookkeeping). */
  readonly onSession?: (session: Session) => void;
  readonly now?: () => number;
}

export interface RunResult {
  readonly exitCode: number;
  readonly session: Session;
  /** Why it ended, as recorded on the session: `exit code 0`, `watchdog timeout`, `killed by operator`, … */
  readonly reason: string;
  readonly logs: { readonly stdout: string; readonly stderr: string };
}

/**
 * `orgmesh agent run <agent-id> -- <command…>`: renders the agent's config into its workspace
 * (refusing a drifted or invalid agent), opens its session, runs the command with the privacy proxy
 * and the mesh in its environment, heartbeats with the config hash, enforces the watchdog and the
 * concurrent-session limit, logs the output, and completes or fails the session from the exit.
 * Each phase is its own step below; the supervision of the running command is RunSupervisor's.
 */
export async function runAgent(options: RunAgentOptions, deps: RunAgentDeps): Promise<RunResult> {
  const agentId = options.agentId;
  const [command, ...args] = options.command;
  if (!command)
    throw new RunRefused('no command to run', `put it after --: orgmesh agent run ${agentId} -- <command…>`);
  // The agent's own token: the sessions service lets it open and drive its own sessions only.
  const sessions = new RunnerSessions(deps.bus, deps.config.rpcTimeoutMs, deps.tokens);
  const { role, format } = await resolveAgent(options, deps);
  const token = await agentToken(agentId, deps);
  const workspace = await prepareAgentWorkspace(options, deps, format, `Bearer ${token.token}`);
  const session = await openRunnerSession(sessions, options, deps, {
    role,
    workspace: workspace.dir,
    command,
    format,
    configHash: workspace.configHash,
  });
  deps.onSession?.(session);
  const run: PreparedRun = {
    agentId,
    command,
    args,
    format,
    workspace: workspace.dir,
    session,
    token: token.token,
    tokenExpiresAt: token.expiresAt,
    tokenLifetimeMs: token.lifetimeMs,
    renderedFiles: workspace.renderedFiles,
    heartbeat: workspace.heartbeat,
  };
  return new RunSupervisor(run, sessions, options, deps).supervise();
}

/**
 * 1. The agent, as the registry declares it, and the client format it runs in: refused when the
 * format cannot speak to its model (Claude Code speaks only the Anthropic API).
 */
async function resolveAgent(
  options: RunAgentOptions,
  deps: RunAgentDeps,
): Promise<{ role: string; format: ConfigFormat }> {
  const { agentId } = options;
  const info = await refuseOnError(
    () => deps.bus.request(GetAgent, { agentId }, { timeoutMs: deps.config.rpcTimeoutMs }),
    (error) => registryRefusal(error, agentId, deps.config),
  );
  const agent = info.agent;
  const format: ConfigFormat =
    options.format ?? (agent.model.provider === 'anthropic' ? 'claude-code' : 'goose');
  if (!(format in info.expectedConfigHashes)) {
    throw new RunRefused(
      `agent "${agentId}" cannot run in ${format}: it uses a ${agent.model.provider} model (${agent.model.name}), and Claude Code speaks only the Anthropic API`,
      `run it with --format goose, or give it an Anthropic model in its agents/${agentId}.yaml and reload the registry (orgmesh registry load <dir>)`,
    );
  }
  return { role: agent.role, format };
}

/**
 * 2. The agent's token — the command's model credential and the heartbeat's authorization —
 * refused when it names another agent than the one asked to run.
 */
async function agentToken(
  agentId: string,
  deps: RunAgentDeps,
): Promise<{ token: string; expiresAt: number | undefined; lifetimeMs: number | undefined }> {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const token = await refuseOnError(
    () => deps.tokens.token(),
    (error) => tokenRefusal(error, deps.clientId, config),
  );
  // An OpenID provider may name the agent in another claim than `sub` (Keycloak: azp).
  const claims = claimsOf(token, {
    subject: config.oidc.ORGMESH_OIDC_SUBJECT_CLAIM,
    role: config.oidc.ORGMESH_OIDC_ROLE_CLAIM,
  });
  if (claims.subject !== undefined && claims.subject !== agentId) {
    throw new RunRefused(
      `the client "${deps.clientId}" authenticates as "${claims.subject}", not as agent "${agentId}"`,
      `set ORGMESH_CLIENT_ID and ORGMESH_CLIENT_SECRET to ${agentId}'s own credentials`,
    );
  }
  const lifetimeMs = claims.expiresAt !== undefined ? Math.max(0, claims.expiresAt - now()) : undefined;
  return { token, expiresAt: claims.expiresAt, lifetimeMs };
}

interface PreparedWorkspace {
  readonly dir: string;
  readonly configHash: string;
  readonly renderedFiles: PreparedRun['renderedFiles'];
  readonly heartbeat: PreparedRun['heartbeat'];
}

/**
 * 3. Its config, rendered into the workspace unless the workspace has drifted from it, and the
 * first heartbeat with that config's hash: the registry must agree it is the declared one.
 */
async function prepareAgentWorkspace(
  options: RunAgentOptions,
  deps: RunAgentDeps,
  format: ConfigFormat,
  authorization: string,
): Promise<PreparedWorkspace> {
  const { bus, config, io } = deps;
  const { agentId } = options;
  const now = deps.now ?? Date.now;
  const rpc = { timeoutMs: config.rpcTimeoutMs };
  const rendered = await refuseOnError(
    () => bus.request(RenderConfig, { agentId, format }, { ...rpc, authorization }),
    (error) => registryRefusal(error, agentId, config, format),
  );
  const workspace = resolve(options.workspace ?? join(config.workspacesDir, agentId));
  const prepared = await refuseOnError(
    () =>
      prepareWorkspace({
        dir: workspace,
        agentId,
        format,
        files: rendered.files,
        configHash: rendered.configHash,
        registryVersion: rendered.version,
        reset: options.resetConfig ?? false,
        now: new Date(now()),
      }),
    (error) => (error instanceof WorkspaceDriftError ? driftRefusal(error, agentId) : undefined),
  );
  // The rendered Claude Code hooks call this before PATH, so they still guard when opened directly.
  await installOrgmeshBin(workspace, { node: process.execPath, script: join(deps.binDir, 'orgmesh') });
  for (const warning of rendered.warnings) io.say(`warning: ${format}: ${warning}`);
  if (prepared.configHash !== rendered.configHash) {
    throw new Error(
      `the files written to ${workspace} hash to ${prepared.configHash}, the registry rendered ${rendered.configHash}`,
    );
  }
  // Each beat asks the token source, which renews ahead of expiry: a run outlives its first token.
  const heartbeat = async (configHash: string) =>
    bus.request(
      AgentHeartbeat,
      { agentId, configHash, format },
      { ...rpc, authorization: `Bearer ${await deps.tokens.token()}` },
    );
  const first = await refuseOnError(
    () => heartbeat(prepared.configHash),
    (error) => registryRefusal(error, agentId, config, format),
  );
  if (first.drift) {
    throw new RunRefused(
      `the registry reports drift for "${agentId}": the config in ${workspace} (${prepared.configHash}) is not the one it expects`,
      'the registry was probably reloaded while the runner rendered: run again. If it persists, the registry service and the runner disagree on ' +
        'the render endpoints (ORGMESH_GATEWAY_URL, ORGMESH_PRIVACY_PROXY_URL, REGISTRY_MCP_COMMAND)',
    );
  }
  return { dir: workspace, configHash: prepared.configHash, renderedFiles: rendered.files, heartbeat };
}

/**
 * 4–5. The concurrent-session limit, counted from the agent's open runner sessions, and the
 * session. Two runners starting at once both see room: the older sessions keep their slots, and
 * the younger one fails its own session and is refused.
 */
async function openRunnerSession(
  sessions: RunnerSessions,
  options: RunAgentOptions,
  deps: RunAgentDeps,
  run: { role: string; workspace: string; command: string; format: ConfigFormat; configHash: string },
): Promise<Session> {
  const { agentId } = options;
  const limit = options.maxSessions ?? deps.config.maxSessions;
  const before = await liveRunnerSessions(sessions, agentId, deps.io);
  if (before.length >= limit) throw limitRefusal(agentId, limit, before);
  const session = await sessions.create({
    agentId,
    role: run.role,
    metadata: runnerMetadata({
      workspace: run.workspace,
      command: run.command,
      format: run.format,
      configHash: run.configHash,
    }),
  });
  const after = await liveRunnerSessions(sessions, agentId, deps.io);
  const rank = after.findIndex((s) => s.id === session.id);
  if (rank >= limit) {
    await sessions.finish(session.id, 'failed', 'refused: concurrent session limit');
    throw limitRefusal(
      agentId,
      limit,
      after.filter((s) => s.id !== session.id),
    );
  }
  return session;
}

/** The agent's open runner sessions whose runner still runs; those of a runner gone are failed on the way. */
async function liveRunnerSessions(
  sessions: RunnerSessions,
  agentId: string,
  io: RunnerIo,
): Promise<Session[]> {
  const open = (await sessions.listOpen(agentId)).filter(isRunnerSession);
  const live: Session[] = [];
  for (const session of open) {
    if (!isOrphaned(session)) live.push(session);
    else {
      const pid = String(session.metadata['pid']);
      await sessions
        .finish(session.id, 'failed', `runner gone (pid ${pid} is not running)`)
        .catch(() => undefined);
      io.say(`session ${session.id}: its runner (pid ${pid}) is gone; failed it`);
    }
  }
  return live;
}
