import { defineEvent } from '../define.js';
import { Task, type TaskRecipient } from './task.schema.js';

/**
 * A task delivered to an agent inbox: the JetStream work queue (stream `MESH_INBOX`) on
 * `mesh.v1.inbox.<role>`, or `mesh.v1.inbox.agent.<agentId>` for one agent. Any instance of the
 * role may take it; it waits in the stream while none is online. At least once: dedupe by task id.
 * The contract subject itself is never published to: use `inboxSubject`.
 */
export const InboxDelivery = defineEvent({
  subject: 'mesh.v1.inbox',
  description: 'A task snapshot per delivery, on mesh.v1.inbox.<role> or mesh.v1.inbox.agent.<agentId>.',
  schema: Task,
});

/** The work-queue stream of the inboxes (`MESH_INBOX`) and what it captures. */
export const MESH_INBOX_STREAM = 'mesh-inbox';
export const MESH_INBOX_SUBJECTS = ['mesh.v1.inbox.>'] as const;
/** The mesh's event stream (`MESH`) captures only its events, so the inboxes can be a work queue. */
export const MESH_EVENT_SUBJECTS = ['mesh.v1.task-created', 'mesh.v1.task-updated'] as const;

/**
 * Where the mesh router repeats each task-updated event for the task's sender, on core NATS (not
 * stored): `mesh.v1.updates.<agentId>`. An agent's credential may subscribe only to its own
 * (ADR 0011), never to `mesh.v1.task-updated`, which carries every task change of the org.
 */
export const MESH_UPDATES_SUBJECT = 'mesh.v1.updates';

// A sender id that is not one subject token (a gateway caller's id may hold dots) gets no copy:
// it cannot be an agent on a secured bus (libs/messaging identityName refuses it).
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;

/** The updates subject of one agent, or undefined when the id cannot be a subject token. */
export function agentUpdatesSubject(agentId: string): string | undefined {
  return SUBJECT_TOKEN.test(agentId) ? `${MESH_UPDATES_SUBJECT}.${agentId}` : undefined;
}

/** The inbox subject of a role. */
export function roleInboxSubject(role: string): string {
  return `mesh.v1.inbox.${role}`;
}

/** The inbox subject of one agent. */
export function agentInboxSubject(agentId: string): string {
  return `mesh.v1.inbox.agent.${agentId}`;
}

/** Where a task for this recipient is delivered. */
export function inboxSubject(to: Pick<TaskRecipient, 'role' | 'agentId'>): string {
  return to.agentId ? agentInboxSubject(to.agentId) : roleInboxSubject(to.role);
}

/**
 * The durable consumer every instance of a role shares (a work queue admits one consumer per
 * subject): any instance may take a task, and the durable keeps the position while none is online.
 */
export function roleInboxDurable(role: string): string {
  return `inbox-${role}`;
}

export function agentInboxDurable(agentId: string): string {
  return `inbox-agent-${agentId}`;
}

/** One inbox an agent consumes: the subject it is delivered on and the durable consumer that reads it. */
export interface AgentInbox {
  readonly subject: string;
  readonly durable: string;
}

/** The two inboxes every agent consumes: its role's (shared with every instance of the role) and its own. */
export function agentInboxes(agent: { role: string; agentId: string }): readonly AgentInbox[] {
  return [
    { subject: roleInboxSubject(agent.role), durable: roleInboxDurable(agent.role) },
    { subject: agentInboxSubject(agent.agentId), durable: agentInboxDurable(agent.agentId) },
  ];
}
