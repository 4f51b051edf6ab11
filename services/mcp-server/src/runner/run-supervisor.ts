import { join } from 'node:path';
import { AppError, type ConfigFormat, type RenderedFile, type Session } from '@orgmesh/contracts';
import { agentEnvironment } from './agent-environment.js';
import type { RunAgentDeps, RunAgentOptions, RunResult } from './agent-runner.js';
import { SupervisedCommand, describeExit, exitStatusOf, type ChildExit } from './child-process.js';
import { formatDuration } from './format.js';
import { ModelRelay } from './model-relay.js';
import { RUN_EXIT, messageOf } from './run-refusals.js';
import { isTerminal, type RunnerSessions } from './runner-sessions.js';
import { RUNNER_DIR, changedPaths, readWorkspaceConfig } from './workspace.js';

/** What the runner has settled before the command starts: the agent, its token, workspace and session. */
export interface PreparedRun {
  readonly agentId: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly format: ConfigFormat;
  readonly workspace: string;
  readonly session: Session;
  /** The agent's first token, handed to the command's environment. */
  readonly token: string;
  /** When that token expires (ms since the epoch), when it says. */
  readonly tokenExpiresAt: number | undefined;
  /** Its remaining lifetime when the runner obtained it: Claude Code's apiKeyHelper TTL is half of it. */
  readonly tokenLifetimeMs: number | undefined;
  /** The files the registry rendered: the heartbeat compares the workspace with them. */
  readonly renderedFiles: readonly RenderedFile[];
  /** One heartbeat with the config hash found on disk; answers whether the registry sees drift. */
  readonly heartbeat: (configHash: string) => Promise<{ drift: boolean }>;
}

type StopCause = { kind: 'watchdog' | 'interrupt' | 'session'; reason: string };

/** The same words whether the transition event or the heartbeat's poll sees the end first. */
function endedBy(t: { to: string; event: string; actor: string; reason?: string | null }): string {
  return `session ${t.to} (${t.event} by ${t.actor}${t.reason ? `: ${t.reason}` : ''})`;
}

/**
 * The command of one `orgmesh agent run`, watched from every side — the session's transitions (a
 * kill from outside), the operator's interrupt, the watchdog and the heartbeat (which also catches a
 * missed transition) — and the session finished from how it ended. One instance per run: the stop
 * cause is decided once, by whichever side asks first, and the report follows it.
 */
export class RunSupervisor {
  private stopCause: StopCause | undefined;
  private finishing = false;
  /** Set once the command is spawned; a stop requested before that is applied right after. */
  private child: SupervisedCommand | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private beating: Promise<void> = Promise.resolve();
  private driftReported = false;
  private heartbeatFailing = false;
  private readonly now: () => number;

  constructor(
    private readonly run: PreparedRun,
    private readonly sessions: RunnerSessions,
    private readonly options: RunAgentOptions,
    private readonly deps: RunAgentDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Runs the command to its end and finishes the session from the exit. */
  async supervise(): Promise<RunResult> {
    const { session } = this.run;
    const unwatch = this.sessions.watch(session.id, (transition) => {
      if (isTerminal(transition.to) && !this.finishing)
        this.stopFor({ kind: 'session', reason: endedBy(transition) });
    });
    this.deps.interrupt?.addEventListener('abort', this.onInterrupt, { once: true });
    // Goose reads its model key once at start and has no credential helper: its calls go through a
    // loopback relay that puts the current token on each (model-relay.ts). Claude Code asks the
    // rendered apiKeyHelper instead, every half token lifetime (at most its 5 min default).
    const relay =
      this.run.format === 'goose'
        ? new ModelRelay({ targetUrl: this.deps.config.privacyProxyUrl, tokens: this.deps.tokens })
        : undefined;
    const relayUrl = await relay?.listen();
    const child = this.spawn(relay && relayUrl ? { url: relayUrl, key: relay.key } : undefined);
    const startedAt = this.now();
    const timeoutMs = this.options.timeoutMs ?? this.deps.config.timeoutMs;
    const pid = await child.started.catch(() => undefined);
    if (pid !== undefined) {
      await this.activate(child, pid, startedAt, timeoutMs);
      if (timeoutMs > 0)
        this.timers.push(
          setTimeout(() => this.stopFor({ kind: 'watchdog', reason: 'watchdog timeout' }), timeoutMs),
        );
      this.timers.push(setInterval(() => this.beat(), this.deps.config.heartbeatIntervalMs));
    }

    // The end: the session follows the exit.
    const exit: ChildExit = await child.exited;
    this.finishing = true;
    await relay?.close();
    for (const timer of this.timers) clearTimeout(timer);
    this.deps.interrupt?.removeEventListener('abort', this.onInterrupt);
    await this.beating;
    return this.report(child, exit, startedAt, unwatch);
  }

  /** Asks the command to stop, once: the first cause is the one the session and exit status report. */
  private stopFor(cause: StopCause): void {
    if (this.stopCause || this.finishing) return;
    this.stopCause = cause;
    this.deps.io.say(`stopping the command: ${cause.reason}`);
    void this.child?.stop(this.deps.config.killGraceMs);
  }

  private readonly onInterrupt = (): void =>
    this.stopFor({
      kind: 'interrupt',
      reason: `interrupted (${String(this.deps.interrupt?.reason ?? 'signal')})`,
    });

  /** Starts the command in the workspace with the mesh, the privacy proxy and its session in its environment. */
  private spawn(modelRelay: { url: string; key: string } | undefined): SupervisedCommand {
    const { run, deps, options } = this;
    const { config, io } = deps;
    const child = new SupervisedCommand({
      command: run.command,
      args: run.args,
      cwd: run.workspace,
      env: agentEnvironment({
        base: deps.baseEnv,
        agentId: run.agentId,
        clientId: deps.clientId,
        clientSecret: deps.clientSecret,
        token: run.token,
        format: run.format,
        gatewayUrl: config.gatewayUrl,
        privacyProxyUrl: config.privacyProxyUrl,
        nats: { url: config.natsUrl, subjectPrefix: config.subjectPrefix, nameSuffix: config.nameSuffix },
        sessionId: run.session.id,
        contextId: run.session.contextId,
        workspace: run.workspace,
        binDir: deps.binDir,
        modelRelay,
        apiKeyHelperTtlMs: run.format === 'claude-code' ? apiKeyHelperTtl(run.tokenLifetimeMs) : undefined,
      }),
      logDir: this.logDir(),
      stdout: options.quiet ? null : io.stdout,
      stderr: options.quiet ? null : io.stderr,
      inheritStdin: io.inheritStdin,
    });
    this.child = child;
    // Stopped before it started (killed right away): stop it as soon as it runs.
    if (this.stopCause) void child.stop(config.killGraceMs);
    return child;
  }

  /** The session becomes active with the command's pid; says where it runs and what its token will not cover. */
  private async activate(
    child: SupervisedCommand,
    pid: number,
    startedAt: number,
    timeoutMs: number,
  ): Promise<void> {
    const { run } = this;
    const { io } = this.deps;
    try {
      await this.sessions.apply(run.session.id, 'activate', `started ${run.command} (pid ${pid})`);
    } catch (error) {
      // Killed before it was activated: the watcher has already asked the command to stop.
      if (!(error instanceof AppError && error.code === 'session_illegal_transition')) throw error;
    }
    io.say(
      `session ${run.session.id} active: ${run.agentId} runs ${run.command} (pid ${pid}) in ${run.workspace}`,
    );
    io.say(`logs: ${child.stdoutLog}, ${child.stderrLog}`);
    if (this.deps.interrupt?.aborted) this.onInterrupt();
    const expiresAt = run.tokenExpiresAt;
    if (expiresAt !== undefined && (timeoutMs === 0 || startedAt + timeoutMs > expiresAt)) {
      io.say(
        `note: the agent's first token expires in ${formatDuration(expiresAt - startedAt)}; ` +
          (run.format === 'goose'
            ? "Goose's model calls get renewed tokens from the runner's relay; ORGMESH_TOKEN is not renewed"
            : "Claude Code's model calls get renewed tokens from its apiKeyHelper (orgmesh agent token); ORGMESH_TOKEN and OPENAI_API_KEY are not renewed"),
      );
    }
  }

  /**
   * One heartbeat, chained after the previous one so beats never overlap: reports the config on
   * disk (drift warned once per episode), and polls the session, so a missed transition event (a
   * NATS reconnect) still stops the command. A failing beat is warned once until one succeeds.
   */
  private beat(): void {
    const { run } = this;
    const { io } = this.deps;
    this.beating = this.beating.then(async () => {
      if (this.finishing) return;
      try {
        const onDisk = await readWorkspaceConfig(
          run.workspace,
          run.renderedFiles.map((f) => f.path),
        );
        const answer = await run.heartbeat(onDisk.configHash);
        if (this.heartbeatFailing) io.say('heartbeats reach the registry again');
        this.heartbeatFailing = false;
        if (answer.drift && !this.driftReported) {
          io.say(
            `warning: config drift: ${changedPaths(run.renderedFiles, onDisk.files).join(', ') || 'the registry changed'}; the registry reports it (registry.v1.drift-detected)`,
          );
        }
        this.driftReported = answer.drift;
        // A missed transition event (a NATS reconnect) is caught here.
        const current = await this.sessions.get(run.session.id);
        if (isTerminal(current.status) && !this.finishing) {
          const last = await this.sessions.lastTransition(run.session.id);
          this.stopFor({ kind: 'session', reason: last ? endedBy(last) : `session ${current.status}` });
        }
      } catch (error) {
        if (!this.heartbeatFailing) io.say(`warning: heartbeat failed: ${messageOf(error)}`);
        this.heartbeatFailing = true;
      }
    });
  }

  /**
   * Finishes the session from how the command ended: a session ended from outside keeps its own
   * state (exit `terminated`); otherwise completed on exit 0 without a stop, failed on anything else.
   */
  private async report(
    child: SupervisedCommand,
    exit: ChildExit,
    startedAt: number,
    unwatch: () => void,
  ): Promise<RunResult> {
    const { session, command } = this.run;
    const { io } = this.deps;
    const elapsed = formatDuration(this.now() - startedAt);
    const cause = this.stopCause;
    let exitCode: number;
    let reason: string;
    let final: Session;
    if (cause?.kind === 'session') {
      final = await this.sessions.get(session.id);
      reason = cause.reason;
      exitCode = RUN_EXIT.terminated;
    } else {
      const target = !cause && exit.kind === 'exited' && exit.code === 0 ? 'completed' : 'failed';
      reason = cause ? cause.reason : describeExit(exit);
      exitCode =
        cause?.kind === 'watchdog'
          ? RUN_EXIT.watchdog
          : cause?.kind === 'interrupt'
            ? RUN_EXIT.interrupted
            : exitStatusOf(exit);
      const finished = await this.sessions.finish(session.id, target, reason);
      final = finished.session;
      if (!finished.appliedByUs && final.status !== target)
        io.say(`session ${session.id} had already ended (${final.status})`);
    }
    unwatch();
    if (exit.kind === 'spawn-failed') io.say(`could not start ${command}: ${exit.error.message}`);
    io.say(`session ${session.id} ${final.status} (${reason}) after ${elapsed}; logs in ${this.logDir()}`);
    return { exitCode, session: final, reason, logs: { stdout: child.stdoutLog, stderr: child.stderrLog } };
  }

  private logDir(): string {
    return join(this.run.workspace, RUNNER_DIR, 'logs', this.run.session.id);
  }
}

/** Half the token's lifetime, between 1 s and Claude Code's own default of 5 min. */
export function apiKeyHelperTtl(tokenLifetimeMs: number | undefined): number {
  const DEFAULT_MS = 5 * 60_000;
  if (tokenLifetimeMs === undefined) return DEFAULT_MS;
  return Math.min(DEFAULT_MS, Math.max(1_000, Math.floor(tokenLifetimeMs / 2)));
}
