/**
 * How every orgmesh component reads a token claim that an operator may have mapped elsewhere
 * (AUTH_*_CLAIM on the services, ORGMESH_OIDC_*_CLAIM on the clients): one rule, so a client and
 * the services never see two identities in one token.
 */

/** The claim `path`: the name itself when present (`client_id`), else a dotted path into objects (`orgmesh.role`). */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    value =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

/** A one-element array counts as its element: role mappers of providers such as Keycloak emit arrays. */
export function singleClaim(value: unknown): unknown {
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}
