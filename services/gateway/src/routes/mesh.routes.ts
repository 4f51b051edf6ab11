import { z } from 'zod';
import {
  AppError,
  CancelTask,
  Decide,
  GetTask,
  ListPersonApprovals,
  ListTasks,
  Notify,
  RequestApproval,
  SendTask,
  TASK_DIRECTIONS,
  Task,
  TaskKind,
  TaskState,
  UpdateTask,
  safeText,
  type RpcRequestInput,
  type RpcResponse,
} from '@orgmesh/contracts';
import type { Caller, CallerKind } from '../auth/caller.js';
import { pageQuery, queryBoolean } from './pagination.js';
import { ALL_KINDS, WRITERS, defineRoute, type Route, type RpcCall } from './route.js';

const TaskIdParams = z.object({ id: z.uuid().describe('Task id') });

/**
 * A sender may name itself (`from`) but never anyone else: the mesh takes the sender from the
 * verified token, so a mismatch is an agent trying to act as another role (403), not a no-op.
 */
const FromField = z
  .union([
    safeText(z.string().min(1).max(100)),
    z.object({
      role: safeText(z.string().min(1).max(100)),
      agentId: safeText(z.string().min(1).max(200)).optional(),
    }),
  ])
  .optional()
  .describe(
    'Optional: the sender as the caller believes it is (a role, or {role, agentId}). It must match the token, else 403.',
  );

function checkFrom(caller: Caller, from: z.infer<typeof FromField>): void {
  if (from === undefined || caller.kind === 'admin') return;
  const role = typeof from === 'string' ? from : from.role;
  const agentId = typeof from === 'string' ? undefined : from.agentId;
  if (role !== caller.role || (agentId !== undefined && agentId !== caller.subject)) {
    throw new AppError(
      'forbidden',
      `an agent sends as its own role only: the request names "${role}", the token is "${caller.role}"`,
      {
        details: { callerRole: caller.role, role },
      },
    );
  }
}

/** What the documentation of a mesh write names: the operation, its path, and its Mesh gRPC method. */
interface MeshWriteDoc {
  operationId: string;
  path: string;
  summary: string;
  description: string;
  grpcMethod: string;
}

/** What every mesh write shares: POST, idempotent (the key forwarded), answered with the task. */
function meshWrite({ grpcMethod, ...doc }: MeshWriteDoc) {
  return {
    ...doc,
    method: 'POST',
    tag: 'mesh',
    idempotent: true,
    response: Task,
    grpc: { service: 'Mesh', method: grpcMethod },
  } as const;
}

/**
 * The three creates (send_task, request_approval, notify) alike: the contract's request plus the
 * optional `from` the token must match (checkFrom), answered 202 with the stored task.
 */
function createRoute(
  contract: typeof SendTask | typeof RequestApproval | typeof Notify,
  doc: MeshWriteDoc,
): Route {
  return defineRoute({
    ...meshWrite(doc),
    access: WRITERS,
    // Each route validates with its own contract's request; the cast only names one of the three for the types.
    body: (contract.request as typeof SendTask.request).extend({ from: FromField }),
    status: 202,
    async handle({ body, caller, call }) {
      const { from, ...payload } = body;
      checkFrom(caller, from);
      return call(contract, payload as RpcRequestInput<typeof contract>);
    },
  });
}

/**
 * The three changes to one task (update, decision, cancel) alike: `POST /v1/tasks/{id}/<change>`,
 * the contract's request without its `id` (the path names the task), answered 200 with the task; an
 * unknown task is 404, a change its state does not allow 409.
 */
function taskChangeRoute(
  contract: typeof UpdateTask | typeof Decide | typeof CancelTask,
  doc: MeshWriteDoc & { path: `/v1/tasks/{id}/${string}`; access: readonly CallerKind[] },
): Route {
  const { access, ...write } = doc;
  return defineRoute({
    ...meshWrite(write),
    access,
    params: TaskIdParams,
    // Each route validates with its own contract's request; the cast only names one of the three for the types.
    body: (contract.request as typeof UpdateTask.request).omit({ id: true }),
    status: 200,
    errors: [404, 409],
    async handle({ params, body, call }) {
      return call(contract, { id: params.id, ...body } as RpcRequestInput<typeof contract>);
    },
  });
}

/** The filters are the contract's own (no NUL, no lone surrogate); only paging is the gateway's. */
const ListQuery = z.object({
  role: ListTasks.request.shape.role,
  agentId: ListTasks.request.shape.agentId,
  state: TaskState.optional(),
  contextId: ListTasks.request.shape.contextId,
  direction: z.enum(TASK_DIRECTIONS).optional(),
  ...pageQuery(50),
});

function listTasks(kind: z.infer<typeof TaskKind> | undefined) {
  return async ({
    query,
    call,
  }: {
    query: z.infer<typeof ListQuery> & { kind?: z.infer<typeof TaskKind> };
    caller: Caller;
    call: RpcCall;
  }): Promise<RpcResponse<typeof ListTasks>> =>
    call(ListTasks, {
      ...query,
      kind: kind ?? query.kind,
      direction: query.direction ?? 'any',
    });
}

const TaskList = ListTasks.response;

function personView(message: string): AppError {
  return new AppError('validation_failed', message, {
    details: { issues: [{ path: 'awaiting', message }] },
  });
}

export const meshRoutes: Route[] = [
  createRoute(SendTask, {
    operationId: 'sendTask',
    path: '/v1/tasks',
    summary: 'Send a task to a role (or one agent)',
    description:
      "send_task. The sender is the caller's token (subject and role). Policy may refuse (403 `policy_denied` naming the rule).",
    grpcMethod: 'SendTask',
  }),
  defineRoute({
    operationId: 'listTasks',
    method: 'GET',
    path: '/v1/tasks',
    tag: 'mesh',
    summary: 'List tasks (inbox and outbox)',
    description:
      'Newest first. Agents see only the tasks they sent, were assigned or were addressed to (by agent id, or by role when no agent was named), and escalations to them; admins and viewers see all. The event stream applies the same rule.',
    access: ALL_KINDS,
    query: ListQuery.extend({ kind: TaskKind.optional() }),
    status: 200,
    response: TaskList,
    grpc: { service: 'Mesh', method: 'ListTasks' },
    handle: listTasks(undefined),
  }),
  defineRoute({
    operationId: 'getTask',
    method: 'GET',
    path: '/v1/tasks/{id}',
    tag: 'mesh',
    summary: 'Get a task with its history (fetch_status)',
    description:
      'fetch_status: the task, approval or notification with its state, result or decision, and (unless `includeHistory=false`) ' +
      'its history of transitions.',
    access: ALL_KINDS,
    params: TaskIdParams,
    query: z.object({ includeHistory: queryBoolean() }),
    status: 200,
    response: Task,
    errors: [404],
    grpc: { service: 'Mesh', method: 'GetTask' },
    async handle({ params, query, call }) {
      return call(GetTask, { id: params.id, includeHistory: query.includeHistory ?? true });
    },
  }),
  taskChangeRoute(UpdateTask, {
    operationId: 'updateTask',
    path: '/v1/tasks/{id}/updates',
    summary: 'Report progress on a task (the assigned agent)',
    description: 'working, input-required, completed (with a result), failed or rejected (with a reason).',
    access: WRITERS,
    grpcMethod: 'UpdateTask',
  }),
  taskChangeRoute(Decide, {
    operationId: 'decideTask',
    path: '/v1/tasks/{id}/decision',
    summary: 'Approve or reject an approval',
    description:
      "Decides an approval addressed to the caller's role: `approve` completes it, `reject` rejects it, with an optional " +
      "comment. The requester's paused session resumes. An approval already decided is 409 `task_illegal_transition`. " +
      'An approval routed to people (ADR 0019) is decided by a signed-in person of its waiting step or their delegate: ' +
      'a second decision is 409 `approval_already_decided` naming the earlier one, a person without the right 403 ' +
      '`forbidden` naming the rule.',
    access: [...WRITERS, 'person'],
    grpcMethod: 'Decide',
  }),
  taskChangeRoute(CancelTask, {
    operationId: 'cancelTask',
    path: '/v1/tasks/{id}/cancel',
    summary: 'Cancel a task (its sender or an admin)',
    description:
      'Cancels a task that is not finished yet, with an optional reason; the addressed role sees it canceled. A finished ' +
      'task is 409 `task_illegal_transition`.',
    access: WRITERS,
    grpcMethod: 'CancelTask',
  }),
  createRoute(RequestApproval, {
    operationId: 'requestApproval',
    path: '/v1/approvals',
    summary: 'Request an approval decision',
    description: "request_approval. The requester's session pauses until the approval is decided.",
    grpcMethod: 'RequestApproval',
  }),
  defineRoute({
    operationId: 'listApprovals',
    method: 'GET',
    path: '/v1/approvals',
    tag: 'mesh',
    summary: 'List approvals',
    description:
      'Approvals the caller sent (`direction=outbound`) or must decide (`inbound`), newest first; the same filters as ' +
      '`GET /v1/tasks`. A signed-in person (issue 23, ADR 0019) lists with `awaiting=me` — the approvals routed to ' +
      'people that wait for the caller now, or for someone who delegated to the caller (`onBehalfOf`), oldest step ' +
      'deadline first, each with the request (`task`), the rule, the step deadline, who must still decide ' +
      '(`awaiting`), the escalation path and the decisions so far — or `decided=me` (newest decision first); those ' +
      'answer person views (`items[].task`) and take `limit` (at most 200 per page) and `cursor` (the previous ' +
      'page’s `nextCursor` of the same view; anything else is 400 `invalid_cursor`) only. Decide with ' +
      '`POST /v1/tasks/{id}/decision`.',
    access: [...ALL_KINDS, 'person'],
    query: ListQuery.extend({
      awaiting: z.literal('me').optional().describe("`me`: a person's approvals waiting for them"),
      decided: z.literal('me').optional().describe('`me`: the approvals a person decided'),
    }),
    status: 200,
    response: z.union([TaskList, ListPersonApprovals.response]),
    grpc: { service: 'Mesh', method: 'ListApprovals' },
    async handle({ query, caller, call }) {
      const { awaiting, decided, ...filters } = query;
      if (awaiting && decided) throw personView('name one of awaiting=me and decided=me');
      if (awaiting || decided) {
        return call(ListPersonApprovals, {
          view: awaiting ? 'awaiting' : 'decided',
          limit: Math.min(filters.limit, 200),
          cursor: filters.cursor,
        });
      }
      if (caller.kind === 'person') throw personView('a person lists with awaiting=me or decided=me');
      return listTasks('approval')({ query: filters, caller, call });
    },
  }),
  createRoute(Notify, {
    operationId: 'notify',
    path: '/v1/notifications',
    summary: 'Notify a role (fire-and-forget, delivered durably)',
    description:
      'notify: a message to a role (or one agent), delivered durably to its inbox; nothing is expected back. Answers ' +
      '202 with the stored notification.',
    grpcMethod: 'Notify',
  }),
  defineRoute({
    operationId: 'listNotifications',
    method: 'GET',
    path: '/v1/notifications',
    tag: 'mesh',
    summary: 'List notifications',
    description:
      'Notifications the caller sent or received, newest first; the same filters as `GET /v1/tasks`.',
    access: ALL_KINDS,
    query: ListQuery,
    status: 200,
    response: TaskList,
    grpc: { service: 'Mesh', method: 'ListNotifications' },
    handle: listTasks('notification'),
  }),
];
