import type { ServerCallContext } from '@a2a-js/sdk/server';
import type { Task as MeshTask } from '@orgmesh/contracts';
import type { Caller } from '../auth/caller.js';

// What the HTTP layer hands the A2A handler per request (through the SDK's ServerCallContext), and
// the small reads of it: kept apart from the handler, which is about the mesh.

/** Who an A2A endpoint is: one registry agent (`/a2a/<agent-id>`), or the org routing by role (`/a2a`). */
export type A2ATarget = { kind: 'agent'; agentId: string } | { kind: 'org' };

/** Keys of the per-request state the HTTP layer puts in the SDK's ServerCallContext. */
export const CALLER_KEY = 'orgmesh.caller';
export const SIGNAL_KEY = 'orgmesh.signal';
export const TARGET_KEY = 'orgmesh.target';

export function callerOf(context: ServerCallContext): Caller {
  const caller = context.state.get(CALLER_KEY) as Caller | undefined;
  if (!caller) throw new Error('A2A request without a verified caller');
  return caller;
}

export function targetOf(context: ServerCallContext): A2ATarget {
  const target = context.state.get(TARGET_KEY) as A2ATarget | undefined;
  if (!target) throw new Error('A2A request without a target');
  return target;
}

export function signalOf(context: ServerCallContext): AbortSignal | undefined {
  return context.state.get(SIGNAL_KEY) as AbortSignal | undefined;
}

export function stringField(record: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = record?.[key];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** Through an agent's endpoint, that agent's tasks: addressed to it or taken by it. The org endpoint has all. */
export function owns(target: A2ATarget, task: MeshTask): boolean {
  if (target.kind === 'org') return true;
  return task.to.agentId === target.agentId || task.assignee?.agentId === target.agentId;
}
