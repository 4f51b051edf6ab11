import { z } from 'zod';
import { safeText } from '../safe-input.js';
import { defineRpc } from '../define.js';
import { RoleId, UserId } from './registry.schema.js';

/** A department as the org chart's `department` column spells it (matched without regard to case). */
const Department = safeText(z.string().min(1).max(200));

/**
 * The head of a department anywhere in the org chart, for `head-of:<department>` approvers (ADR
 * 0019). Ids only: the mesh router may call it, and the mesh may not read the directory's names
 * and emails (ADR 0011); it asks for the one person it routes to by id (get-manager).
 */
export const GetDepartmentHead = defineRpc({
  subject: 'rpc.registry.v1.get-department-head',
  description:
    "The head of a department: its topmost person in the org chart (nearest the root, then by user id), ids only. " +
    'Department matched without regard to case. Nobody in it → not_found with details.department.',
  request: z.object({ department: Department }),
  response: z.object({
    /** As the org chart spells it. */
    department: z.string(),
    userId: UserId,
    role: RoleId,
  }),
});
