import type { OperationExample } from './examples.js';
import {
  TASK_ID,
  APPROVAL_ID,
  CONTEXT_ID,
  T1,
  T2,
  task,
  approval,
  notification,
} from './examples.fixtures.js';

/** Tasks, approvals (with their delegations) and notifications between agents (mesh.routes.ts, approvals.routes.ts). */
export const MESH_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  listTasks: {
    parameters: { direction: 'inbound', state: 'submitted', limit: 20 },
    response: { items: [task], nextCursor: null },
  },
  sendTask: {
    request: {
      to: 'legal',
      type: 'contract-review',
      input: { contract: 'MSA-2026-014', pages: 12 },
      contextId: CONTEXT_ID,
      deadline: '2026-03-03T09:15:00.000Z',
    },
    response: task,
  },
  getTask: { parameters: { id: TASK_ID, includeHistory: 'false' }, response: task },
  updateTask: {
    parameters: { id: TASK_ID },
    request: { state: 'completed', result: { verdict: 'sign', notes: 'Clause 7.2 amended' } },
    response: {
      ...task,
      assignee: { agentId: 'legal-agent', role: 'legal' },
      state: 'completed',
      result: { verdict: 'sign', notes: 'Clause 7.2 amended' },
      version: 3,
      updatedAt: T2,
    },
  },
  decideTask: {
    parameters: { id: APPROVAL_ID },
    request: { decision: 'approve', comment: 'Within the annual plan.' },
    response: {
      ...approval,
      state: 'completed',
      decision: {
        decision: 'approve',
        comment: 'Within the annual plan.',
        decidedBy: { agentId: 'manager-agent', role: 'manager' },
        decidedAt: T2,
      },
      version: 2,
      updatedAt: T2,
    },
  },
  cancelTask: {
    parameters: { id: TASK_ID },
    request: { reason: 'superseded by MSA-2026-015' },
    response: { ...task, state: 'canceled', reason: 'superseded by MSA-2026-015', version: 2, updatedAt: T2 },
  },
  listDelegations: {
    response: {
      given: [
        {
          id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01',
          from: 'u00002',
          to: 'u00001',
          startsAt: T1,
          endsAt: '2026-03-09T18:00:00.000Z',
        },
      ],
      received: [],
    },
  },
  revokeDelegation: {
    parameters: { id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01' },
    response: {
      id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01',
      from: 'u00002',
      to: 'u00001',
      startsAt: T1,
      endsAt: T2,
    },
  },
  delegateApprovals: {
    request: { to: 'u00001', endsAt: '2026-03-09T18:00:00.000Z' },
    response: {
      id: '5b0b7f1e-3f43-4c1c-9a37-3e2b1d6f9a01',
      from: 'u00002',
      to: 'u00001',
      startsAt: T1,
      endsAt: '2026-03-09T18:00:00.000Z',
    },
  },
  listApprovals: {
    parameters: { direction: 'inbound', state: 'submitted' },
    response: { items: [approval], nextCursor: null },
  },
  requestApproval: {
    request: {
      to: 'manager',
      subject: 'Q1 marketing budget above 50k',
      details: { amount: 62000, currency: 'EUR' },
      priority: 'high',
      contextId: CONTEXT_ID,
    },
    response: approval,
  },
  listNotifications: {
    parameters: { direction: 'inbound', limit: 20 },
    response: { items: [notification], nextCursor: null },
  },
  notify: {
    request: { to: 'manager', message: 'The Q1 payment run is scheduled for Friday.', contextId: CONTEXT_ID },
    response: notification,
  },
};
