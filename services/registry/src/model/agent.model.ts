import { z } from 'zod';
import {
  AccessPattern,
  AgentId,
  AgentTool,
  ModelProvider,
  ProfileId,
  RoleId,
  type RegistryAgent,
} from '@orgmesh/contracts';

/** `agents/<id>.yaml`: one agent per file, snake_case keys. */
export const AgentFileSchema = z
  .strictObject({
    id: AgentId,
    role: RoleId,
    /** Another profile of the same role; the role's default profile when omitted. */
    profile: ProfileId.optional(),
    display_name: z.string().min(1).max(200),
    description: z.string().max(2000).default(''),
    model: z.strictObject({ provider: ModelProvider, name: z.string().min(1).max(200) }),
    tools: z.array(AgentTool).default([]),
    delegates_to: z.array(AgentId).default([]),
    cannot_access: z.array(AccessPattern).default([]),
    exclusive_access: z.array(AccessPattern).default([]),
    responsibilities: z.array(z.string().min(1)).default([]),
    forbidden: z.array(z.string().min(1)).default([]),
    /** A remote A2A agent: its card URL (fetched and its signature verified at load) and an optional pinned JWKS. */
    a2a: z
      .strictObject({
        card_url: z.url({ protocol: /^https?$/ }),
        jwks_url: z.url({ protocol: /^https?$/ }).optional(),
      })
      .optional(),
  })
  .transform((a): RegistryAgent => ({
    id: a.id,
    role: a.role,
    profile: a.profile ?? null,
    displayName: a.display_name,
    description: a.description,
    model: a.model,
    tools: a.tools,
    delegatesTo: a.delegates_to,
    cannotAccess: a.cannot_access,
    exclusiveAccess: a.exclusive_access,
    responsibilities: a.responsibilities,
    forbidden: a.forbidden,
    ...(a.a2a
      ? { a2a: { cardUrl: a.a2a.card_url, ...(a.a2a.jwks_url ? { jwksUrl: a.a2a.jwks_url } : {}) } }
      : {}),
  }));
