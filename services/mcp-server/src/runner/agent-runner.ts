import { join, resolve } from 'node:path';
import {
  AgentHeartbeat,
  AppError,
  GetAgent,
  RenderConfig,
  type ConfigFormat,
  type Session,
} from '@orgmesh/contracts';
import { EXIT } from '@orgmesh/config';
import type { MessageBus } from '@orgmesh/messaging';
import { GatewayError } from '../gateway/gateway.errors.js';
import { claimsOf, type TokenSource } from '../gateway/token.provider.js';
import { agentEnvironment } from './agent-environment.js';
import { ModelRelay } from './model-relay.js';
import { SupervisedCommand, describeExit, exitStatusOf, type ChildExit } from './child-process.js';
import type { RunnerConfig } from './runner.config.js';
import {
  RunnerSessions,
  isOrphaned,
  isRunnerSession,
  isTerminal,
  runnerMetadata,
} from './runner-sessions.js';
import {
  RUNNER_DIR,
  WorkspaceDriftError,
  changedPaths,
  installOrgmeshBin,
  prepareWorkspace,
  readWorkspaceConfig,
} from './workspace.js';
import { formatDuration } from './format.js';

/** Exit statuses of `orgmesh agent run` besides the command's own: the CLI's one table (EXIT). */
export const RUN_EXIT = {
  refused: EXIT.refused,
  unavailable: EXIT.unavailable,
  watchdog: EXIT.watchdog,
  interrupted: EXIT.interrupted,
  /** The session was ended from outside (`orgmesh sessions kill`, the idle sweeper). */
  terminated: EXIT.terminated,
} as const;

/** The runner will not start the agent; `fix` tells the operator what to do about it. */
export class RunRefused extends Error {
  override readonly name = 'RunRefused';
  constructor(
    readonly problem: string,
    readonly fix: string,
    readonly exitCode: number = RUN_EXIT.refused,
  ) {
    super(problem);
  }
}

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

type StopCause = { kind: 'watchdog' | 'interrupt' | 'session'; reason: string };

/**
 * `orgmesh agent run <agent-id> -- <command…>`: renders the agent's config into its workspace
 * (refusing a drifted or invalid agent), opens its session, runs the command with the privacy proxy
 * and the mesh in its environment, heartbeats with the config hash, enforces the watchdog and the
 * concurrent-session limit, logs the output, and completes or fails the session from the exit.
 */
export async function runAgent(options: RunAgentOptions, deps: RunAgentDeps): Promise<RunResult> {
  const { bus, config, io } = deps;
  const now = deps.now ?? Date.now;
  const agentId = options.agentId;
  const [command, ...args] = options.command;
  if (!command)
    throw new RunRefused('no command to run', `put it after --: orgmesh agent run ${agentId} -- <command…>`);
  const rpc = { timeoutMs: config.rpcTimeoutMs };
  // The agent's own token: the sessions service lets it open and drive its own sessions only.
  const sessions = new RunnerSessions(bus, config.rpcTimeoutMs, deps.tokens);

  // 1. The agent, as the registry declares it.
  const info = await refuseOnError(
    () => bus.request(GetAgent, { agentId }, rpc),
    (error) => registryRefusal(error, agentId, config),
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

  // 2. Its token: the command's model credential and the heartbeat's authorization.
  const token = await refuseOnError(
    () => deps.tokens.token(),
    (error) =>
      new RunRefused(
        config.oidc.ORGMESH_OIDC_ISSUER
          ? `cannot obtain a token for client "${deps.clientId}" from the OpenID provider ${config.oidc.ORGMESH_OIDC_ISSUER}: ${messageOf(error)}`
          : `cannot obtain a token for client "${deps.clientId}" from the gateway at ${config.gatewayUrl}: ${messageOf(error)}`,
        config.oidc.ORGMESH_OIDC_ISSUER
          ? `check that the provider answers and that it knows ${deps.clientId} with this ORGMESH_OIDC_CLIENT_SECRET or ORGMESH_OIDC_PRIVATE_KEY_FILE (docs/identity.md)`
          : `start the suite (npm start) or point ORGMESH_GATEWAY_URL at the gateway; set ORGMESH_CLIENT_SECRET to the agent's client secret (dev mode: ${deps.clientId}-dev-secret)`,
        // Not reached at all (status 0) is "orgmesh is not running", as for NATS; an answer that refuses is a refusal.
        error instanceof GatewayError && error.status === 0 ? RUN_EXIT.unavailable : RUN_EXIT.refused,
      ),
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
  const authorization = `Bearer ${token}`;
  const tokenLifetimeMs = claims.expiresAt !== undefined ? Math.max(0, claims.expiresAt - now()) : undefined;

  // 3. Its config, rendered into the workspace unless the workspace has drifted from it.
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

  // 4. The concurrent-session limit, counted from the agent's open runner sessions.
  const limit = options.maxSessions ?? config.maxSessions;
  const openRunnerSessions = async (): Promise<Session[]> => {
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
  };
  const limitRefusal = (open: readonly Session[]) =>
    new RunRefused(
      `agent "${agentId}" already has ${open.length} open session${open.length === 1 ? '' : 's'} started by a runner (limit ${limit}): ` +
        open
          .map(
            (s) => `${s.id} (${s.status}, pid ${String(s.metadata['pid'])} on ${String(s.metadata['host'])})`,
          )
          .join(', '),
      'wait for it to end, stop it with `orgmesh sessions kill <session-id>`, or raise the limit (ORGMESH_MAX_SESSIONS or --max-sessions)',
    );
  const before = await openRunnerSessions();
  if (before.length >= limit) throw limitRefusal(before);

  // 5. The session. Two runners starting at once both see room: the older sessions keep their slots.
  const session = await sessions.create({
    agentId,
    role: agent.role,
    metadata: runnerMetadata({ workspace, command, format, configHash: prepared.configHash }),
  });
  const after = await openRunnerSessions();
  const rank = after.findIndex((s) => s.id === session.id);
  if (rank >= limit) {
    await sessions.finish(session.id, 'failed', 'refused: concurrent session limit');
    throw limitRefusal(after.filter((s) => s.id !== session.id));
  }
  deps.onSession?.(session);

  // 6. The command, watched from every side.
  let stopCause: StopCause | undefined;
  let finishing = false;
  // Set once the command is spawned; a stop requested before that is applied right after.
  const supervised: { child?: SupervisedCommand } = {};
  const stopFor = (cause: StopCause) => {
    if (stopCause || finishing) return;
    stopCause = cause;
    io.say(`stopping the command: ${cause.reason}`);
    void supervised.child?.stop(config.killGraceMs);
  };
  // The same words whether the transition event or the heartbeat's poll sees the end first.
  const endedBy = (t: { to: string; event: string; actor: string; reason?: string | null }) =>
    `session ${t.to} (${t.event} by ${t.actor}${t.reason ? `: ${t.reason}` : ''})`;
  const unwatch = sessions.watch(session.id, (transition) => {
    if (isTerminal(transition.to) && !finishing) stopFor({ kind: 'session', reason: endedBy(transition) });
  });
  const onInterrupt = () =>
    stopFor({ kind: 'interrupt', reason: `interrupted (${String(deps.interrupt?.reason ?? 'signal')})` });
  deps.interrupt?.addEventListener('abort', onInterrupt, { once: true });

  const logDir = join(workspace, RUNNER_DIR, 'logs', session.id);
  // Goose reads its model key once at start and has no credential helper: its calls go through a
  // loopback relay that puts the current token on each (model-relay.ts). Claude Code asks the
  // rendered apiKeyHelper instead, every half token lifetime (at most its 5 min default).
  const relay =
    format === 'goose'
      ? new ModelRelay({ targetUrl: config.privacyProxyUrl, tokens: deps.tokens })
      : undefined;
  const relayUrl = await relay?.listen();
  const child = new SupervisedCommand({
    command,
    args,
    cwd: workspace,
    env: agentEnvironment({
      base: deps.baseEnv,
      agentId,
      clientId: deps.clientId,
      clientSecret: deps.clientSecret,
      token,
      format,
      gatewayUrl: config.gatewayUrl,
      privacyProxyUrl: config.privacyProxyUrl,
      nats: { url: config.natsUrl, subjectPrefix: config.subjectPrefix, nameSuffix: config.nameSuffix },
      sessionId: session.id,
      contextId: session.contextId,
      workspace,
      binDir: deps.binDir,
      modelRelay: relay && relayUrl ? { url: relayUrl, key: relay.key } : undefined,
      apiKeyHelperTtlMs: format === 'claude-code' ? apiKeyHelperTtl(tokenLifetimeMs) : undefined,
    }),
    logDir,
    stdout: options.quiet ? null : io.stdout,
    stderr: options.quiet ? null : io.stderr,
    inheritStdin: io.inheritStdin,
  });
  supervised.child = child;
  // Stopped before it started (killed right away): stop it as soon as it runs.
  if (stopCause) void child.stop(config.killGraceMs);
  const startedAt = now();
  const timeoutMs = options.timeoutMs ?? config.timeoutMs;
  const pid = await child.started.catch(() => undefined);
  if (pid !== undefined) {
    try {
      await sessions.apply(session.id, 'activate', `started ${command} (pid ${pid})`);
    } catch (error) {
      // Killed before it was activated: the watcher has already asked the command to stop.
      if (!(error instanceof AppError && error.code === 'session_illegal_transition')) throw error;
    }
    io.say(`session ${session.id} active: ${agentId} runs ${command} (pid ${pid}) in ${workspace}`);
    io.say(`logs: ${child.stdoutLog}, ${child.stderrLog}`);
    if (deps.interrupt?.aborted) onInterrupt();
    if (claims.expiresAt !== undefined && (timeoutMs === 0 || startedAt + timeoutMs > claims.expiresAt)) {
      io.say(
        `note: the agent's first token expires in ${formatDuration(claims.expiresAt - startedAt)}; ` +
          (format === 'goose'
            ? "Goose's model calls get renewed tokens from the runner's relay; ORGMESH_TOKEN is not renewed"
            : "Claude Code's model calls get renewed tokens from its apiKeyHelper (orgmesh agent token); ORGMESH_TOKEN and OPENAI_API_KEY are not renewed"),
      );
    }
  }

  const timers: NodeJS.Timeout[] = [];
  if (pid !== undefined && timeoutMs > 0)
    timers.push(setTimeout(() => stopFor({ kind: 'watchdog', reason: 'watchdog timeout' }), timeoutMs));
  let beating: Promise<void> = Promise.resolve();
  let driftReported = false;
  let heartbeatFailing = false;
  if (pid !== undefined) {
    timers.push(
      setInterval(() => {
        beating = beating.then(async () => {
          if (finishing) return;
          try {
            const onDisk = await readWorkspaceConfig(
              workspace,
              rendered.files.map((f) => f.path),
            );
            const answer = await heartbeat(onDisk.configHash);
            if (heartbeatFailing) io.say('heartbeats reach the registry again');
            heartbeatFailing = false;
            if (answer.drift && !driftReported) {
              io.say(
                `warning: config drift: ${changedPaths(rendered.files, onDisk.files).join(', ') || 'the registry changed'}; the registry reports it (registry.v1.drift-detected)`,
              );
            }
            driftReported = answer.drift;
            // A missed transition event (a NATS reconnect) is caught here.
            const current = await sessions.get(session.id);
            if (isTerminal(current.status) && !finishing) {
              const last = await sessions.lastTransition(session.id);
              stopFor({ kind: 'session', reason: last ? endedBy(last) : `session ${current.status}` });
            }
          } catch (error) {
            if (!heartbeatFailing) io.say(`warning: heartbeat failed: ${messageOf(error)}`);
            heartbeatFailing = true;
          }
        });
      }, config.heartbeatIntervalMs),
    );
  }

  // 7. The end: the session follows the exit.
  const exit: ChildExit = await child.exited;
  finishing = true;
  await relay?.close();
  for (const timer of timers) clearTimeout(timer);
  deps.interrupt?.removeEventListener('abort', onInterrupt);
  await beating;
  const elapsed = formatDuration(now() - startedAt);
  let exitCode: number;
  let reason: string;
  let final: Session;
  if (stopCause?.kind === 'session') {
    final = await sessions.get(session.id);
    reason = stopCause.reason;
    exitCode = RUN_EXIT.terminated;
  } else {
    const cause = stopCause;
    const target = !cause && exit.kind === 'exited' && exit.code === 0 ? 'completed' : 'failed';
    reason = cause ? cause.reason : describeExit(exit);
    exitCode =
      cause?.kind === 'watchdog'
        ? RUN_EXIT.watchdog
        : cause?.kind === 'interrupt'
          ? RUN_EXIT.interrupted
          : exitStatusOf(exit);
    const finished = await sessions.finish(session.id, target, reason);
    final = finished.session;
    if (!finished.appliedByUs && final.status !== target)
      io.say(`session ${session.id} had already ended (${final.status})`);
  }
  unwatch();
  if (exit.kind === 'spawn-failed') io.say(`could not start ${command}: ${exit.error.message}`);
  io.say(`session ${session.id} ${final.status} (${reason}) after ${elapsed}; logs in ${logDir}`);
  return { exitCode, session: final, reason, logs: { stdout: child.stdoutLog, stderr: child.stderrLog } };
}

/** Half the token's lifetime, between 1 s and Claude Code's own default of 5 min. */
export function apiKeyHelperTtl(tokenLifetimeMs: number | undefined): number {
  const DEFAULT_MS = 5 * 60_000;
  if (tokenLifetimeMs === undefined) return DEFAULT_MS;
  return Math.min(DEFAULT_MS, Math.max(1_000, Math.floor(tokenLifetimeMs / 2)));
}

async function refuseOnError<T>(
  action: () => Promise<T>,
  refusal: (error: unknown) => RunRefused | undefined,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw refusal(error) ?? error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function registryRefusal(
  error: unknown,
  agentId: string,
  config: RunnerConfig,
  format?: ConfigFormat,
): RunRefused | undefined {
  if (!(error instanceof AppError)) return undefined;
  switch (error.code) {
    case 'agent_not_found':
      return new RunRefused(
        `unknown agent "${agentId}": the registry declares no such agent`,
        `declare it in agents/${agentId}.yaml of the registry directory (deploy/registry), check it with \`orgmesh registry validate deploy/registry\`, and load it with \`orgmesh registry load deploy/registry\``,
      );
    case 'validation_failed':
      return new RunRefused(
        `the registry refuses to render "${agentId}"${format ? ` for ${format}` : ''}: ${error.message}`,
        format === 'claude-code'
          ? 'run it with --format goose, or fix its declaration'
          : `fix its declaration (agents/${agentId}.yaml, its profile) and reload the registry (orgmesh registry load <dir>)`,
      );
    case 'unavailable':
    case 'timeout':
      return new RunRefused(
        `the registry service does not answer on ${config.natsUrl}${config.subjectPrefix ? ` (subject prefix ${config.subjectPrefix})` : ''}: ${error.message}`,
        'start the suite (npm start), or point NATS_URL (and NATS_SUBJECT_PREFIX) at the running one',
        RUN_EXIT.unavailable,
      );
    case 'unauthenticated':
    case 'forbidden':
      return new RunRefused(
        `the registry refuses the agent's token: ${error.message}`,
        `check that ORGMESH_CLIENT_ID/ORGMESH_CLIENT_SECRET are ${agentId}'s and that the registry trusts the gateway's issuer (AUTH_ISSUER)`,
      );
    default:
      return undefined;
  }
}

function driftRefusal(error: WorkspaceDriftError, agentId: string): RunRefused {
  const edited = error.drifted.filter((f) => f.reason === 'edited').map((f) => f.path);
  const foreign = error.drifted.filter((f) => f.reason === 'foreign').map((f) => f.path);
  const parts = [
    edited.length
      ? `${edited.join(', ')} changed since orgmesh rendered ${edited.length === 1 ? 'it' : 'them'}`
      : '',
    foreign.length
      ? `${foreign.join(', ')} ${foreign.length === 1 ? 'exists' : 'exist'} but orgmesh did not write ${foreign.length === 1 ? 'it' : 'them'}`
      : '',
  ].filter(Boolean);
  return new RunRefused(
    `agent "${agentId}" has drifted from its declared config in ${error.workspace}: ${parts.join('; ')}`,
    `undo the local changes, or rerun with --reset-config to replace them with the declared config; to keep a change, make it in the registry (agents/${agentId}.yaml or its profile) and reload it (orgmesh registry load <dir>)`,
  );
}
