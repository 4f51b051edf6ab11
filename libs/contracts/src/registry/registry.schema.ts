import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { safeText } from '../safe-input.js';
import { ApprovalRule } from './approval-rules.js';
import { LlmGovernance } from '../privacy/llm-governance.js';

/**
 * Shapes of the registry's model as every consumer sees it (RPC replies, events, REST, the privacy
 * proxy). camelCase; the YAML source files use snake_case and are mapped by the registry service.
 */

/** Agent, role and profile ids: kebab-case, lowercase, 2–64 characters. */
export const KEBAB_CASE_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const kebabId = z.string().min(2).max(64).regex(KEBAB_CASE_ID, {
  error: 'must be kebab-case: lowercase letters and digits separated by single dashes',
});

export const AgentId = kebabId;
export const RoleId = kebabId;
export const ProfileId = kebabId;
/** An agent id or a role id; the registry keeps the two namespaces disjoint. */
export const AgentOrRole = kebabId;

export const ROLE_WILDCARD = '*';
/** A role, or `*` for every role. */
export const MeshTarget = z.union([RoleId, z.literal(ROLE_WILDCARD)]);

export const PRIVACY_MODES = ['off', 'detect', 'mask', 'strict'] as const;
/** off: nothing; detect: audit only; mask: pseudonymise and restore; strict: refuse the request. */
export const PrivacyMode = z.enum(PRIVACY_MODES);
export type PrivacyMode = z.infer<typeof PrivacyMode>;

export const PRIVACY_ENTITY_TYPES = [
  'email',
  'phone',
  'ssn',
  'credit_card',
  'iban',
  'ip_address',
  'date_of_birth',
  'account_number',
  'person',
  'employee_id',
  /** Hits of the profile's deny list, so they can be acted on differently from the mode. */
  'deny_list',
] as const;
/** How far a value keeps one placeholder (`PrivacySettings.pseudonymScope`). */
export const PSEUDONYM_SCOPES = ['workflow', 'role', 'org'] as const;
export type PseudonymScope = (typeof PSEUDONYM_SCOPES)[number];

export const PrivacyEntityType = z.enum(PRIVACY_ENTITY_TYPES);
export type PrivacyEntityType = z.infer<typeof PrivacyEntityType>;

export const CustomPrivacyPattern = z.object({
  name: kebabId,
  /** An ECMAScript regular expression source (compiled with the `g` flag by the proxy). */
  pattern: z.string().min(1),
  /** Defaults to the profile's mode. */
  action: PrivacyMode.optional(),
});
export type CustomPrivacyPattern = z.infer<typeof CustomPrivacyPattern>;

export const PrivacySettings = z.object({
  mode: PrivacyMode,
  /** Per-entity overrides of `mode`, e.g. `{ ssn: 'strict' }`. */
  entities: z.partialRecord(PrivacyEntityType, PrivacyMode),
  customPatterns: z.array(CustomPrivacyPattern),
  /** Literal values always treated as sensitive (matched case-insensitively). */
  denyList: z.array(z.string().min(1)),
  /** A regular expression source for this org's employee ids, or null. */
  employeeIdPattern: z.string().min(1).nullable(),
  /** Binary content the privacy proxy cannot scan: forwarded (`allow`) or refused; default by mode. */
  binary: z.enum(['allow', 'refuse']).optional(),
  /** Request fields the privacy proxy does not know: text masked, other values refused (`scan`, default), or refused. */
  unknownFields: z.enum(['scan', 'refuse']).optional(),
  /** People's names in free text without the directory (default on); `false`: directory and cues only. */
  names: z.boolean().optional(),
  /** How far a value keeps one placeholder: `workflow` (default), `role` or `org`. */
  pseudonymScope: z.enum(PSEUDONYM_SCOPES).optional(),
});
export type PrivacySettings = z.infer<typeof PrivacySettings>;

/** Who a role may address on the mesh. Anything not granted here is denied. */
export const MeshPermissions = z.object({
  /** Roles this role may send tasks to (consult, delegate work). */
  sendTaskTo: z.array(MeshTarget),
  /** Roles this role may ask for an approval decision. */
  requestApprovalFrom: z.array(MeshTarget),
  /** Roles this role may notify. */
  notify: z.array(MeshTarget),
});
export type MeshPermissions = z.infer<typeof MeshPermissions>;

/** The API flavour an agent speaks to the privacy proxy (which maps it to an upstream). */
export const MODEL_PROVIDERS = ['anthropic', 'openai'] as const;
export const ModelProvider = z.enum(MODEL_PROVIDERS);
export type ModelProvider = z.infer<typeof ModelProvider>;

export const ProviderAllowance = z.object({
  name: ModelProvider,
  /** Allowed model names; empty means any model of that provider. */
  models: z.array(z.string().min(1)),
});
export type ProviderAllowance = z.infer<typeof ProviderAllowance>;

/**
 * Client-neutral tool grants, rendered per client:
 * `read` (read/search files), `edit` (write files), `bash` (any shell command),
 * `bash:<prefix>` (shell commands starting with prefix), `web` (fetch and search the web).
 * Mesh tools are not listed: they follow from the profile's mesh permissions.
 */
export const AGENT_TOOL = /^(?:read|edit|web|bash(?::[a-z0-9][a-z0-9 ._/-]*)?)$/;
export const AgentTool = z
  .string()
  .regex(AGENT_TOOL, { error: 'unknown tool: expected read, edit, web, bash or bash:<command prefix>' });

/** A path or glob relative to the agent's workspace, e.g. `finance/ledger/**`. */
export const AccessPattern = z
  .string()
  .min(1)
  .max(300)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
    error: 'must be a relative path inside the workspace (no leading "/", no "..")',
  });

export const RegistryRole = z.object({
  id: RoleId,
  displayName: z.string().min(1).max(200),
  description: z.string().max(2000),
});
export type RegistryRole = z.infer<typeof RegistryRole>;

export const RoleProfile = z.object({
  id: ProfileId,
  role: RoleId,
  /** The profile a role's agents and users get unless another one is named or assigned. */
  isDefault: z.boolean(),
  description: z.string().max(2000),
  providers: z.array(ProviderAllowance).min(1),
  privacy: PrivacySettings,
  mesh: MeshPermissions,
  /** The ceiling of tools an agent of this role may be granted. */
  tools: z.array(AgentTool),
  /** Extra Goose builtin extensions (e.g. `memory`). */
  extensions: z.array(kebabId),
  /** Role-wide guidance written into CLAUDE.md and .goosehints. */
  hints: z.string(),
  /** Approval rules the mesh applies to approvals addressed to this role (issue 23); absent: none. */
  approvals: z.array(ApprovalRule).optional(),
  /** LLM budgets, rate limits and store-outage rule, enforced by the privacy proxy (issue 24). */
  llm: LlmGovernance.optional(),
});
export type RoleProfile = z.infer<typeof RoleProfile>;

/** Where a remote A2A agent's card is, and (optionally) the only key set its card signatures may use. */
export const RemoteA2AAgent = z.object({
  cardUrl: z.url({ protocol: /^https?$/ }),
  /** Pinned JWKS: card signatures verify against it only. Unset: the signature's `jku` on the card's origin. */
  jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
});
export type RemoteA2AAgent = z.infer<typeof RemoteA2AAgent>;

export const RegistryAgent = z.object({
  id: AgentId,
  role: RoleId,
  /** The profile this agent runs under; null means the role's default profile. */
  profile: ProfileId.nullable(),
  displayName: z.string().min(1).max(200),
  description: z.string().max(2000),
  model: z.object({ provider: ModelProvider, name: z.string().min(1).max(200) }),
  tools: z.array(AgentTool),
  delegatesTo: z.array(AgentId),
  cannotAccess: z.array(AccessPattern),
  exclusiveAccess: z.array(AccessPattern),
  responsibilities: z.array(z.string().min(1)),
  forbidden: z.array(z.string().min(1)),
  /**
   * A remote A2A agent (issue 25, ADR 0021): the mesh reaches it through the official A2A client at
   * its Agent Card; absent for an agent that runs on the mesh itself.
   */
  a2a: RemoteA2AAgent.optional(),
});
export type RegistryAgent = z.infer<typeof RegistryAgent>;

/**
 * An org-chart user id as callers name it (path ids, RPC requests): free-form, as the org's HR system
 * writes it, but without NUL or lone surrogates, which no stored id can hold.
 */
export const UserId = safeText(z.string().min(1).max(100));

/** A person of the org chart. */
export const OrgUser = z.object({
  userId: z.string().min(1).max(100),
  reportsToId: z.string().min(1).max(100).nullable(),
  name: z.string().min(1).max(200),
  role: RoleId,
  email: z.string().min(3).max(320),
  department: z.string().min(1).max(200),
});
export type OrgUser = z.infer<typeof OrgUser>;

/** What a mesh permission is about: the kinds of mesh message (mesh TASK_KINDS is this list). */
export const POLICY_KINDS = ['task', 'approval', 'notification'] as const;
export const PolicyKind = z.enum(POLICY_KINDS);
export type PolicyKind = z.infer<typeof PolicyKind>;

export const PolicyDecision = z.object({
  allowed: z.boolean(),
  /** The profile and permission entry that allowed it, or the default-deny that refused it. */
  rule: z.string(),
  fromRole: RoleId.nullable(),
  toRole: RoleId.nullable(),
});
export type PolicyDecision = z.infer<typeof PolicyDecision>;

export const CONFIG_FORMATS = ['claude-code', 'goose'] as const;
export const ConfigFormat = z.enum(CONFIG_FORMATS);
export type ConfigFormat = z.infer<typeof ConfigFormat>;

export const RenderedFile = z.object({ path: z.string().min(1), content: z.string() });
export type RenderedFile = z.infer<typeof RenderedFile>;

/** `sha256:<64 hex>` over a rendered config's sorted paths and contents. */
export const ConfigHash = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, { error: 'expected sha256:<64 hex digits>' });

export const AgentPresence = z.object({
  online: z.boolean(),
  lastSeenAt: Timestamp.nullable(),
  reportedConfigHash: ConfigHash.nullable(),
  /** The last heartbeat's hash differs from every config rendered for the agent's current version. */
  drift: z.boolean(),
});
export type AgentPresence = z.infer<typeof AgentPresence>;

/** One problem found while validating registry files or an org chart. */
export const RegistryProblem = z.object({
  file: z.string(),
  /** Dotted path inside the file (`delegates_to[0]`), `line 12` for CSV rows, `(root)` for the whole file. */
  path: z.string(),
  reason: z.string(),
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
});
export type RegistryProblem = z.infer<typeof RegistryProblem>;

/** A source file of a registry directory, path relative to the directory, `/`-separated. */
export const RegistrySourceFile = z.object({
  path: safeText(z.string().min(1).max(500)),
  content: safeText(z.string().max(1_000_000)),
});
export type RegistrySourceFile = z.infer<typeof RegistrySourceFile>;

export const RegistryVersion = z.number().int().positive();
/** The payload of a signed profile (the JWS published with `registry.v1.profile-published`). */
export const PublishedProfile = z.object({
  profile: RoleProfile,
  version: RegistryVersion,
  publishedAt: Timestamp,
});
export type PublishedProfile = z.infer<typeof PublishedProfile>;
