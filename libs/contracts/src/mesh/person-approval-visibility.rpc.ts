import { z } from 'zod';
import { defineRpc } from '../define.js';

/** At most this many task ids per question: the gateway asks for one event's task at a time, or a few. */
export const MAX_VISIBILITY_TASK_IDS = 100;

/**
 * The gateway's question for a signed-in person's event stream (issue 23, ADR 0019): which of these
 * tasks are approvals the person may follow. The answer is the mesh's, from its routes and
 * decisions, never the browser's; the gateway applies it to live and replayed events alike.
 */
export const PersonApprovalVisibility = defineRpc({
  subject: 'rpc.mesh.v1.person-approval-visibility',
  description:
    'Which of `taskIds` a signed-in person (token scope orgmesh:person) may follow: approvals routed to people ' +
    'whose route names the caller in any step, that the caller decided (or that were decided on their behalf), ' +
    'or whose waiting step names someone who delegated to the caller now. Anything else, unknown ids included, ' +
    'is left out. Any other caller is 403.',
  request: z.object({
    taskIds: z.array(z.uuid()).min(1).max(MAX_VISIBILITY_TASK_IDS),
  }),
  response: z.object({ visible: z.array(z.uuid()) }),
});
