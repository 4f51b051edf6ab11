import { z } from 'zod';
import { defineRpc } from '../define.js';
import { boundedJson, safeText } from '../safe-input.js';
import { ApproverSpec } from '../registry/approval-rules.js';
import { CreateOptions, RecipientInput, Task } from './task.schema.js';

export const RequestApproval = defineRpc({
  subject: 'rpc.mesh.v1.request-approval',
  description:
    'request_approval: a task whose result is a decision (approve | reject, comment). Undecided, it escalates once ' +
    "to the approver's manager from the org chart, then times out at its deadline. `to` (a role or one agent) is " +
    "resolved against the registry as for send_task and stored as resolved. `approver` (or a rule of the role's " +
    'profile) routes it to people of the org chart instead: quorum, a deadline per step, escalation up the ' +
    'reporting line, a denial when the chain ends (ADR 0019).',
  request: z.object({
    to: RecipientInput,
    subject: safeText(z.string().min(1).max(500)),
    details: boundedJson().optional(),
    /**
     * A person to decide instead of the role's agents (issue 23): a user id, manager-of:<…> or
     * head-of:<role>. `to` still names the role the policy is checked against; a profile rule of
     * that role, when one matches, wins over this.
     */
    approver: ApproverSpec.optional(),
    ...CreateOptions,
  }),
  response: Task,
});
