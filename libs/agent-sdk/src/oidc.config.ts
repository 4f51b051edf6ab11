import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { env } from '@orgmesh/config';
import type { JWK } from 'jose';
import type { OidcClientAuth, OidcTokenSourceOptions } from './oidc-token-source.js';

const optional = env.optionalString();

/**
 * The environment keys with which an agent, orgmesh-mcp or the runner gets its tokens from an
 * OpenID provider instead of the gateway's dev issuer. Spread into each program's own config
 * schema, so it is parsed once, with the program's other keys.
 */
export const OIDC_CLIENT_ENV = {
  /** The issuer identifier; setting it switches token acquisition to OIDC. */
  ORGMESH_OIDC_ISSUER: optional,
  /** Default: the program's client id (the agent id). */
  ORGMESH_OIDC_CLIENT_ID: optional,
  /** client_secret_basic (default with a secret) or client_secret_post. */
  ORGMESH_OIDC_CLIENT_SECRET: optional,
  ORGMESH_OIDC_AUTH_METHOD: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
    .optional(),
  /** A private JWK (JSON) or PKCS#8 PEM file: private_key_jwt. */
  ORGMESH_OIDC_PRIVATE_KEY_FILE: optional,
  /** The signing algorithm of a PEM key (a JWK names its own): RS256, ES256, PS256, EdDSA, … */
  ORGMESH_OIDC_PRIVATE_KEY_ALG: optional,
  /** `kid` sent with the client assertion when the key file does not carry one. */
  ORGMESH_OIDC_PRIVATE_KEY_ID: optional,
  ORGMESH_OIDC_SCOPE: optional,
  /** RFC 8707 `resource` parameter. */
  ORGMESH_OIDC_RESOURCE: optional,
  /** The `audience` parameter some providers use instead (Auth0, Okta). */
  ORGMESH_OIDC_AUDIENCE: optional,
  /** Claim naming the agent (default `sub`) and its role (default `role`); dotted paths reach into objects. */
  ORGMESH_OIDC_SUBJECT_CLAIM: optional,
  ORGMESH_OIDC_ROLE_CLAIM: optional,
};

export const OidcClientEnvSchema = z.object(OIDC_CLIENT_ENV);
export type OidcClientEnv = z.infer<typeof OidcClientEnvSchema>;

/** The part of `OidcTokenSourceOptions` that comes from configuration (no logger, no fetch). */
export type OidcClientSettings = Omit<OidcTokenSourceOptions, 'logger' | 'fetch'>;

/**
 * Turns parsed OIDC keys into token-source settings; `undefined` when ORGMESH_OIDC_ISSUER is not set
 * (the dev issuer is used). Problems name keys, never values; the key file is read here, once.
 */
export function oidcClientSettings(
  raw: OidcClientEnv,
  defaultClientId: string | undefined,
  problems: Array<{ key: string; reason: string }>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): OidcClientSettings | undefined {
  const issuer = raw.ORGMESH_OIDC_ISSUER;
  if (!issuer) {
    for (const key of Object.keys(OIDC_CLIENT_ENV) as Array<keyof OidcClientEnv>) {
      if (raw[key] !== undefined) problems.push({ key, reason: 'needs ORGMESH_OIDC_ISSUER' });
    }
    return undefined;
  }
  const url = URL.parse(issuer);
  if (!url || !/^https?:$/.test(url.protocol)) {
    problems.push({ key: 'ORGMESH_OIDC_ISSUER', reason: 'expected an http(s) URL' });
  } else if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    // A token request over plain http would hand the client secret to anyone on the path.
    problems.push({ key: 'ORGMESH_OIDC_ISSUER', reason: 'expected https (plain http only on loopback)' });
  }
  const clientId = raw.ORGMESH_OIDC_CLIENT_ID ?? defaultClientId;
  if (!clientId)
    problems.push({ key: 'ORGMESH_OIDC_CLIENT_ID', reason: 'required with ORGMESH_OIDC_ISSUER' });
  const secret = raw.ORGMESH_OIDC_CLIENT_SECRET;
  const keyFile = raw.ORGMESH_OIDC_PRIVATE_KEY_FILE;
  const method = raw.ORGMESH_OIDC_AUTH_METHOD ?? (keyFile ? 'private_key_jwt' : 'client_secret_basic');
  let auth: OidcClientAuth | undefined;
  if (secret && keyFile) {
    problems.push({
      key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE',
      reason: 'set a client secret or a private key, not both',
    });
  } else if (method === 'private_key_jwt') {
    if (!keyFile)
      problems.push({ key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE', reason: 'required for private_key_jwt' });
    else {
      const jwk = readPrivateKey(keyFile, raw, problems, readFile);
      if (jwk) auth = { method, privateJwk: jwk };
    }
  } else if (!secret) {
    problems.push({
      key: 'ORGMESH_OIDC_CLIENT_SECRET',
      reason: `required for ${method} (or set ORGMESH_OIDC_PRIVATE_KEY_FILE)`,
    });
  } else {
    auth = { method, secret };
  }
  if (!auth || !clientId || problems.length) return undefined;
  return {
    issuer,
    clientId,
    auth,
    scope: raw.ORGMESH_OIDC_SCOPE,
    resource: raw.ORGMESH_OIDC_RESOURCE,
    audience: raw.ORGMESH_OIDC_AUDIENCE,
    claims: { subject: raw.ORGMESH_OIDC_SUBJECT_CLAIM, role: raw.ORGMESH_OIDC_ROLE_CLAIM },
  };
}

function readPrivateKey(
  path: string,
  raw: OidcClientEnv,
  problems: Array<{ key: string; reason: string }>,
  readFile: (path: string) => string,
): JWK | undefined {
  let text: string;
  try {
    text = readFile(path);
  } catch {
    problems.push({ key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE', reason: 'cannot be read' });
    return undefined;
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let jwk: JWK;
    try {
      jwk = JSON.parse(trimmed) as JWK;
    } catch {
      problems.push({ key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE', reason: 'not a JSON Web Key' });
      return undefined;
    }
    if (typeof jwk.d !== 'string') {
      problems.push({
        key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE',
        reason: 'a public key: private_key_jwt needs the private key',
      });
      return undefined;
    }
    return {
      ...jwk,
      kid: jwk.kid ?? raw.ORGMESH_OIDC_PRIVATE_KEY_ID,
      alg: jwk.alg ?? raw.ORGMESH_OIDC_PRIVATE_KEY_ALG,
    };
  }
  if (trimmed.startsWith('-----BEGIN PRIVATE KEY-----')) {
    return pemToJwk(trimmed, raw, problems);
  }
  problems.push({
    key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE',
    reason: 'expected a private JWK (JSON) or a PKCS#8 PEM key',
  });
  return undefined;
}

function pemToJwk(
  pem: string,
  raw: OidcClientEnv,
  problems: Array<{ key: string; reason: string }>,
): JWK | undefined {
  // node:crypto converts synchronously, so configuration parsing stays synchronous.
  try {
    const jwk = createPrivateKey(pem).export({ format: 'jwk' }) as JWK;
    return { ...jwk, kid: raw.ORGMESH_OIDC_PRIVATE_KEY_ID, alg: raw.ORGMESH_OIDC_PRIVATE_KEY_ALG };
  } catch {
    problems.push({ key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE', reason: 'not a readable PKCS#8 private key' });
    return undefined;
  }
}
