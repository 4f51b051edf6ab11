import type { Task } from '@orgmesh/contracts';
import { taskFixture } from '@orgmesh/testing';

/** Test fixtures of the mesh-follow specs: the demo's agents and a submitted approval from Finance to Manager. */
export const finance = { agentId: 'finance-agent', role: 'finance' };
export const manager = { agentId: 'manager-agent', role: 'manager' };
export const legal = { agentId: 'legal-agent', role: 'legal' };

export const approvalTask: Task = taskFixture({ from: finance });
