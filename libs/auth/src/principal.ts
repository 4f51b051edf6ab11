import { z } from 'zod';

/**
 * What a caller is to the access rules (callerKindOf); the gateway lists, validates and documents kinds from here.
 * `person`: a person of the org chart signed in (scope `orgmesh:person`); the mesh decides what they may see and
 * decide from the org chart and the approval rules. Routes name the kinds they admit, so a person reaches only
 * the routes that list `person` (the gateway's ALL_KINDS is the three machine-era kinds, not this list).
 */
export const CALLER_KINDS = ['admin', 'agent', 'person', 'viewer'] as const;

/** Scopes carried in the `scope` claim (space-separated, as OAuth2 has it). */
export const SCOPES = {
  admin: 'orgmesh:admin',
  agent: 'orgmesh:agent',
  read: 'orgmesh:read',
  /**
   * A person of the org chart signed in (the console, issue 23): `sub` is the directory user id,
   * `role` is `person`. What a person may see and decide follows from the org chart and the
   * approval rules, checked in the mesh.
   */
  person: 'orgmesh:person',
} as const;

/**
 * The verified identity of a caller. `role` is the org role the caller acts for (finance, manager,
 * …; `admin` for administrators); the mesh takes a sender's role from here, never from a payload.
 */
export interface Principal {
  subject: string;
  role: string;
  tenant: string;
  scopes: string[];
  /** The raw token, to forward on NATS in the `authorization` header. */
  token: string;
}

export type CallerKind = (typeof CALLER_KINDS)[number];

/**
 * What a principal is to the access rules, one precedence for every service: the admin scope wins
 * over agent, agent over person, person over read. Undefined when the token carries none of them.
 */
export function callerKindOf(principal: Pick<Principal, 'scopes'>): CallerKind | undefined {
  if (principal.scopes.includes(SCOPES.admin)) return 'admin';
  if (principal.scopes.includes(SCOPES.agent)) return 'agent';
  if (principal.scopes.includes(SCOPES.person)) return 'person';
  if (principal.scopes.includes(SCOPES.read)) return 'viewer';
  return undefined;
}

export const PrincipalClaims = z.object({
  sub: z.string().min(1),
  role: z.string().min(1),
  tenant: z.string().min(1).default('default'),
  scope: z.string().default(''),
});

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.includes(scope);
}

export function isAdmin(principal: Principal): boolean {
  return hasScope(principal, SCOPES.admin);
}
