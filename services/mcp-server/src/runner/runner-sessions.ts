import { hostname } from 'node:os';
import {
  AppError,
  ApplySessionEvent,
  CreateSession,
  GetSession,
  ListSessionTransitions,
  ListSessions,
  SessionTransitioned,
  TERMINAL_SESSION_STATES,
  type EventPayload,
  type Session,
  type SessionEventName,
  type SessionState,
} from '@orgmesh/contracts';
import type { CallOptions, MessageBus } from '@orgmesh/messaging';
import type { TokenSource } from '../gateway/token.provider.js';

/** `metadata.source` of the sessions a runner opens; the concurrency limit counts these. */
export const RUNNER_SOURCE = 'orgmesh-runner';
export const OPEN_SESSION_STATES: readonly SessionState[] = ['pending', 'active', 'paused'];

export interface RunnerMetadata {
  readonly source: typeof RUNNER_SOURCE;
  readonly host: string;
  readonly pid: number;
  readonly workspace: string;
  readonly command: string;
  readonly format: string;
  readonly configHash: string;
}

export function isRunnerSession(session: Session): boolean {
  return session.metadata['source'] === RUNNER_SOURCE;
}

export function isTerminal(state: SessionState): boolean {
  return TERMINAL_SESSION_STATES.includes(state);
}

/** The next event toward `target` (completed needs an active session: activate or resume first). */
export function nextEventToward(
  status: SessionState,
  target: 'completed' | 'failed',
): SessionEventName | null {
  if (isTerminal(status)) return null;
  if (target === 'failed') return 'fail';
  if (status === 'pending') return 'activate';
  if (status === 'paused') return 'resume';
  return 'complete';
}

/**
 * The runner's side of the sessions service (rpc.sessions.v1.*): open, drive and list sessions, and
 * watch one session's transitions as they are published. Every request carries the caller's token
 * (the agent's for `agent run`, the operator's for `orgmesh sessions`): the sessions service
 * verifies it and takes the actor from it, and lets an agent touch its own sessions only.
 */
export class RunnerSessions {
  constructor(
    private readonly bus: MessageBus,
    private readonly timeoutMs: number,
    private readonly tokens: TokenSource,
  ) {}

  create(input: { agentId: string; role: string; metadata: RunnerMetadata }): Promise<Session> {
    return this.call((opts) =>
      this.bus.request(
        CreateSession,
        { agentId: input.agentId, role: input.role, metadata: { ...input.metadata } },
        opts,
      ),
    );
  }

  get(id: string): Promise<Session> {
    return this.call((opts) => this.bus.request(GetSession, { id }, opts));
  }

  /** The session's latest transition (what ended it, once it has ended). */
  async lastTransition(
    id: string,
  ): Promise<{ to: SessionState; event: string; actor: string; reason: string | null } | undefined> {
    const { items } = await this.call((opts) => this.bus.request(ListSessionTransitions, { id }, opts));
    return items.at(-1);
  }

  /** One event; the service records the token's subject as the actor. */
  apply(id: string, event: SessionEventName, reason: string): Promise<Session> {
    return this.call((opts) => this.bus.request(ApplySessionEvent, { id, event, reason }, opts));
  }

  /** A request with the current token; once more with a fresh one if the service found it expired. */
  private async call<T>(request: (opts: CallOptions) => Promise<T>): Promise<T> {
    const opts = async (refresh: boolean): Promise<CallOptions> => ({
      timeoutMs: this.timeoutMs,
      authorization: `Bearer ${await this.tokens.token(refresh)}`,
    });
    try {
      return await request(await opts(false));
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'unauthenticated')) throw error;
      return request(await opts(true));
    }
  }

  /**
   * Brings a session to completed or failed from wherever it is (a mesh task may have paused it
   * meanwhile). Returns the final session, or the terminal one it found if somebody else ended it.
   */
  async finish(
    id: string,
    target: 'completed' | 'failed',
    reason: string,
  ): Promise<{ session: Session; appliedByUs: boolean }> {
    let session = await this.get(id);
    let applied = false;
    for (let step = 0; step < 4; step++) {
      const event = nextEventToward(session.status, target);
      if (!event) return { session, appliedByUs: applied };
      try {
        session = await this.apply(
          id,
          event,
          event === 'activate' || event === 'resume' ? `finishing: ${reason}` : reason,
        );
        applied = true;
      } catch (error) {
        // Somebody moved it meanwhile (the mesh, an operator, the idle sweeper): look again.
        if (error instanceof AppError && error.code === 'session_illegal_transition')
          session = await this.get(id);
        else throw error;
      }
    }
    return { session, appliedByUs: applied };
  }

  /** Every open session (pending, active, paused), optionally of one agent, oldest first. */
  async listOpen(agentId?: string): Promise<Session[]> {
    const all: Session[] = [];
    for (const status of OPEN_SESSION_STATES) all.push(...(await this.listAll({ status, agentId })));
    return all.sort(byAge);
  }

  async listAll(filter: { status?: SessionState; agentId?: string }, max = 5_000): Promise<Session[]> {
    const items: Session[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call((opts) =>
        this.bus.request(ListSessions, { ...filter, limit: 500, cursor }, opts),
      );
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && items.length < max);
    return items;
  }

  /** Calls `onTransition` for each published transition of the session; returns the unsubscribe function. */
  watch(
    sessionId: string,
    onTransition: (transition: EventPayload<typeof SessionTransitioned>) => void,
  ): () => void {
    // A plain subscription sees each event the sessions service publishes to JetStream as it happens:
    // the runner only cares while it is alive, and re-reads the session on every heartbeat besides.
    const sub = this.bus.nc.subscribe(this.bus.subject(SessionTransitioned.subject), {
      callback: (error, msg) => {
        if (error) return;
        // Nothing may throw out of a core subscription callback: nats.js would end the
        // connection's read loop, and the runner would stop hearing the mesh. A malformed event is
        // only a missed wake-up; the heartbeat re-reads the session anyway.
        try {
          const parsed = SessionTransitioned.schema.safeParse(msg.json());
          if (parsed.success && parsed.data.sessionId === sessionId) onTransition(parsed.data);
        } catch {
          return;
        }
      },
    });
    return () => sub.unsubscribe();
  }
}

export function byAge(a: Session, b: Session): number {
  const age = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  return age !== 0 ? age : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function runnerMetadata(input: Omit<RunnerMetadata, 'source' | 'host' | 'pid'>): RunnerMetadata {
  return { source: RUNNER_SOURCE, host: hostname(), pid: process.pid, ...input };
}

/** A runner session whose runner process is gone (same host, pid not running): it holds no slot. */
export function isOrphaned(
  session: Session,
  here: string = hostname(),
  alive: (pid: number) => boolean = pidAlive,
): boolean {
  const { host, pid } = session.metadata as { host?: unknown; pid?: unknown };
  return isRunnerSession(session) && host === here && typeof pid === 'number' && !alive(pid);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
