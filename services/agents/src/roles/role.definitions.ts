import type { RegistryAgent, RoleProfile } from '@orgmesh/contracts';
import type { AgentRole } from '../agents.config.js';

/**
 * What a reference agent knows about its role when the registry cannot render its config: the
 * same responsibilities and guidance as `deploy/registry` (agents/<role>-agent.yaml and the role's
 * profile), so the registry's own field types. With the registry up, the rendered instructions
 * replace these.
 */
export type RoleDefinition = Readonly<
  Pick<RegistryAgent, 'displayName' | 'description' | 'responsibilities' | 'forbidden'> &
    Pick<RoleProfile, 'hints'> & {
      role: AgentRole;
      /** The model name (the registry's `model.name`). */
      model: string;
    }
>;

export const ROLE_DEFINITIONS: Readonly<Record<AgentRole, RoleDefinition>> = {
  finance: {
    role: 'finance',
    displayName: 'Finance',
    description: 'Prepares budgets and spending requests and sees them through approval.',
    model: 'gpt-4o-mini',
    responsibilities: [
      'Prepare quarterly budgets and spending requests',
      'Request manager approval for spending above $10,000',
      'Complete the request once it is decided and report the outcome',
    ],
    forbidden: ['Commit spending before it is approved', 'Share employee personal data outside Finance'],
    hints:
      "Amounts are in USD unless stated. Spending above $10,000 needs a manager's approval: request it with " +
      'request_approval and wait for the decision before committing anything.',
  },
  manager: {
    role: 'manager',
    displayName: 'Manager',
    description: 'Decides on budget and spending requests, consulting Legal when needed.',
    model: 'gpt-4o-mini',
    responsibilities: [
      'Approve or reject requests with a one-line reason',
      'Consult Legal for a SOX review before approving spending above $100,000',
      'Escalate to the executive team when unsure',
    ],
    forbidden: ['Approve your own requests', 'Approve spending above $1M'],
    hints:
      'Before approving spending above $100,000, consult Legal (send_task to legal) for a SOX review. Record every ' +
      'decision with a one-line reason.',
  },
  legal: {
    role: 'legal',
    displayName: 'Legal',
    description: 'Reviews requests for legal and regulatory risk, SOX above all.',
    model: 'gpt-4o-mini',
    responsibilities: [
      'Review spending requests for SOX compliance',
      'Answer with a recommendation and the rule it rests on',
    ],
    forbidden: ['Assign work to Finance', "Give advice outside the company's jurisdictions"],
    hints:
      'Answer with a clear recommendation (approve, approve with conditions, reject) and cite the rule (SOX ' +
      'section, GDPR article, contract clause) it rests on.',
  },
};

/** The built-in instructions of a role, in the shape the registry renders them. */
export function builtInInstructions(definition: RoleDefinition, agentId: string): string {
  return [
    `# ${definition.displayName} Agent (\`${agentId}\`)`,
    '',
    definition.description,
    '',
    '## Responsibilities',
    '',
    ...definition.responsibilities.map((r) => `- ${r}`),
    '',
    '## Forbidden',
    '',
    ...definition.forbidden.map((f) => `- ${f}`),
    '',
    '## Role guidance',
    '',
    definition.hints,
    '',
  ].join('\n');
}
