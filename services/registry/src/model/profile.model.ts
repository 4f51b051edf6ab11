import { z } from 'zod';
import {
  AgentTool,
  LlmGovernance,
  MeshTarget,
  PrivacyEntityType,
  PrivacyMode,
  ProfileId,
  ProviderAllowance,
  RoleId,
  type RoleProfile,
} from '@orgmesh/contracts';
import { ApprovalRulesFileSchema } from './approval-rules.model.js';

const regexSource = z.string().min(1).refine(isValidRegex, { error: 'not a valid regular expression' });

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source, 'g');
    return true;
  } catch {
    return false;
  }
}

const PrivacyFileSchema = z.strictObject({
  mode: PrivacyMode,
  entities: z.partialRecord(PrivacyEntityType, PrivacyMode).default({}),
  custom_patterns: z
    .array(z.strictObject({ name: ProfileId, pattern: regexSource, action: PrivacyMode.optional() }))
    .default([]),
  deny_list: z.array(z.string().min(1)).default([]),
  employee_id_pattern: regexSource.optional(),
  /** People's names in free text without the directory (the privacy proxy's default: on). */
  names: z.boolean().optional(),
  /** How far a value keeps one placeholder: workflow (default), role or org. */
  pseudonym_scope: z.enum(['workflow', 'role', 'org']).optional(),
  /** Binary content the privacy proxy cannot scan: allow or refuse (default: refuse when strict). */
  binary: z.enum(['allow', 'refuse']).optional(),
  /** Request fields the privacy proxy does not know: scan (default) or refuse. */
  unknown_fields: z.enum(['scan', 'refuse']).optional(),
});

/** `llm:` — budgets, rate limits and the store-outage rule the privacy proxy enforces (issue 24). */
const LlmFileSchema = z.strictObject({
  budgets: z
    .array(
      z
        .strictObject({
          name: ProfileId,
          per: z.enum(['agent', 'role']),
          tokens: z.number().int().positive().optional(),
          cost_usd: z.number().positive().optional(),
          window: z.enum(['day', 'week', 'month']),
          reset: z.enum(['calendar', 'rolling']).default('calendar'),
          warn_at: z.number().gt(0).lt(1).optional(),
        })
        .refine((b) => (b.tokens === undefined) !== (b.cost_usd === undefined), {
          error: 'a budget limits exactly one of tokens and cost_usd',
        }),
    )
    .optional(),
  rate_limits: z
    .array(
      z
        .strictObject({
          per: z.enum(['agent', 'role']),
          requests_per_minute: z.number().int().positive().optional(),
          tokens_per_minute: z.number().int().positive().optional(),
        })
        .refine((r) => r.requests_per_minute !== undefined || r.tokens_per_minute !== undefined, {
          error: 'a rate limit sets requests_per_minute, tokens_per_minute or both',
        }),
    )
    .optional(),
  on_store_unavailable: z.enum(['refuse', 'allow']).optional(),
});

function llmGovernance(llm: z.infer<typeof LlmFileSchema>): NonNullable<RoleProfile['llm']> {
  return LlmGovernance.parse(
    givenFields({
      budgets: llm.budgets?.map((b) => ({
        name: b.name,
        per: b.per,
        window: b.window,
        reset: b.reset,
        ...givenFields({ tokens: b.tokens, costUsd: b.cost_usd, warnAt: b.warn_at }),
      })),
      rateLimits: llm.rate_limits?.map((r) => ({
        per: r.per,
        ...givenFields({ requestsPerMinute: r.requests_per_minute, tokensPerMinute: r.tokens_per_minute }),
      })),
      onStoreUnavailable: llm.on_store_unavailable,
    }),
  );
}

/**
 * `fields` without those the file left out: an optional member given as undefined stays in the
 * parsed object (zod keeps it), so the profile would carry members its file does not have.
 */
function givenFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

const MeshFileSchema = z.strictObject({
  send_task_to: z.array(MeshTarget).default([]),
  request_approval_from: z.array(MeshTarget).default([]),
  notify: z.array(MeshTarget).default([]),
});

/** `profiles/<id>.yaml`: one role profile per file, snake_case keys. */
export const ProfileFileSchema = z
  .strictObject({
    id: ProfileId,
    role: RoleId,
    /** Required (true on exactly one) only when a role has several profiles. */
    default: z.boolean().optional(),
    description: z.string().max(2000).default(''),
    providers: z
      .array(
        z.strictObject({
          name: ProviderAllowance.shape.name,
          models: z.array(z.string().min(1)).default([]),
        }),
      )
      .min(1),
    privacy: PrivacyFileSchema,
    mesh: MeshFileSchema.default({ send_task_to: [], request_approval_from: [], notify: [] }),
    tools: z.array(AgentTool).default([]),
    extensions: z.array(ProfileId).default([]),
    hints: z.string().default(''),
    llm: LlmFileSchema.optional(),
    approvals: ApprovalRulesFileSchema.optional(),
  })
  .transform((p): RoleProfile => ({
    id: p.id,
    role: p.role,
    // Settled by the validator once every profile of the role is known.
    isDefault: p.default ?? false,
    description: p.description,
    providers: p.providers,
    privacy: {
      mode: p.privacy.mode,
      entities: p.privacy.entities,
      customPatterns: p.privacy.custom_patterns.map((c) =>
        c.action
          ? { name: c.name, pattern: c.pattern, action: c.action }
          : { name: c.name, pattern: c.pattern },
      ),
      denyList: p.privacy.deny_list,
      employeeIdPattern: p.privacy.employee_id_pattern ?? null,
      // Only when written: a profile without them keeps the same content (and signature) as before.
      ...(p.privacy.names !== undefined ? { names: p.privacy.names } : {}),
      ...(p.privacy.pseudonym_scope ? { pseudonymScope: p.privacy.pseudonym_scope } : {}),
      ...(p.privacy.binary ? { binary: p.privacy.binary } : {}),
      ...(p.privacy.unknown_fields ? { unknownFields: p.privacy.unknown_fields } : {}),
    },
    mesh: {
      sendTaskTo: p.mesh.send_task_to,
      requestApprovalFrom: p.mesh.request_approval_from,
      notify: p.mesh.notify,
    },
    tools: p.tools,
    extensions: p.extensions,
    hints: p.hints,
    // Only when written: a profile without it keeps the same content (and signature) as before.
    ...(p.llm ? { llm: llmGovernance(p.llm) } : {}),
    ...(p.approvals ? { approvals: p.approvals } : {}),
  }));

/** YAML key of each mesh permission, as written in profile files (for messages and policy rules). */
export const MESH_YAML_KEYS = {
  sendTaskTo: 'send_task_to',
  requestApprovalFrom: 'request_approval_from',
  notify: 'notify',
} as const;
