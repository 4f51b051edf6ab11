import { AppError, TaskUpdated, type SessionState, type TaskChange } from '@orgmesh/contracts';
import { processOnce, type ConsumerHandle, type MessageBus } from '@orgmesh/messaging';
import type { Database } from '@orgmesh/persistence';
import type { Logger } from '@orgmesh/telemetry';
import type { SessionService } from '../session/session.service.js';
import { SESSIONS_SCHEMA } from '../session/session.repository.js';
import { nextSessionEvent, sessionSteps, type SessionStep } from './mesh-follow.mapping.js';

export const MESH_FOLLOW_DURABLE = 'sessions--mesh-v1-task-changes';
/** task-created and task-updated, through one consumer so they are applied in stream order. */
export const MESH_TASK_CHANGES = 'mesh.v1.*';
const MAX_STEPS = 4;
const OPEN: SessionState[] = ['pending', 'active', 'paused'];

/**
 * The sessions service's consumer of the mesh's task events. Both events share one payload
 * (TaskChange), so one durable reads `mesh.v1.*` in stream order. Each event is applied once per
 * event id (processOnce); the steps converge a session toward a target state, so a partially
 * applied event that is redelivered finishes without repeating a transition. Resolves at once when
 * the mesh has not created its stream yet; the consumer starts when it has.
 */
export async function startMeshFollow(deps: {
  bus: MessageBus;
  db: Database;
  service: SessionService;
  logger: Logger;
}): Promise<ConsumerHandle> {
  const follower = new MeshFollower(deps.service, deps.logger);
  return deps.bus.consume(
    TaskUpdated,
    MESH_FOLLOW_DURABLE,
    async (change, ctx) => {
      await processOnce(deps.db, SESSIONS_SCHEMA, MESH_FOLLOW_DURABLE, ctx.eventId, () =>
        follower.apply(change, ctx.eventId),
      );
    },
    {
      subject: MESH_TASK_CHANGES,
      concurrency: 1,
      maxDeliver: 20,
      backoffMs: [100, 500, 2000, 5000],
      // MESH is the mesh router's: a sessions replica that starts first follows it once it exists
      // (on a secured bus, trying to create it was refused and stopped the replica at start).
      waitForOwner: true,
    },
  );
}

export class MeshFollower {
  constructor(
    private readonly service: SessionService,
    private readonly logger: Logger,
  ) {}

  async apply(change: TaskChange, causationId: string): Promise<void> {
    for (const step of sessionSteps(change)) await this.converge(step, change, causationId);
  }

  private async converge(step: SessionStep, change: TaskChange, causationId: string): Promise<void> {
    if (step.target === 'completed' || step.target === 'failed') {
      // A final result ends the agent's open session. With none open, a session is opened (and
      // ended) only if the agent never had one in this context: otherwise the result was already
      // applied (a redelivery) and opening another would duplicate it.
      const { items } = await this.service.list({
        agentId: step.agentId,
        contextId: step.contextId,
        limit: 1,
      });
      const newest = items[0];
      if (newest && !OPEN.includes(newest.status)) return;
    }
    let { session } = await this.service.create({
      agentId: step.agentId,
      role: step.role,
      contextId: step.contextId,
      metadata: { source: 'mesh', taskId: change.task.id },
    });
    for (let i = 0; i < MAX_STEPS; i++) {
      const event = nextSessionEvent(session.status, step.target);
      if (!event) return;
      try {
        ({ session } = await this.service.applyEvent({
          id: session.id,
          event,
          actor: change.change.actor,
          reason: step.reason,
          causationId,
        }));
        this.logger.debug(
          { sessionId: session.id, taskId: change.task.id, event },
          'session follows the mesh',
        );
      } catch (error) {
        // Raced with another writer of this session: look again and continue from where it is.
        if (!(error instanceof AppError && error.code === 'session_illegal_transition')) throw error;
        session = await this.service.get(session.id);
      }
    }
  }
}
