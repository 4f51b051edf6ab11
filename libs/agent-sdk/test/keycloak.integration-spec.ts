import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createJwtVerifier } from '@orgmesh/auth';
import { dockerAvailable } from '@orgmesh/testing';
import { OidcClientEnvSchema, OidcTokenSource, oidcClientSettings } from '../src/index.js';

/**
 * The Keycloak recipe of docs/identity.md, run against a real Keycloak in a container (issue 18:
 * "a Keycloak recipe in the docs, and its testcontainers test when Docker answers"). The realm is
 * the recipe's steps as an import file: a client scope `orgmesh:agent` with the audience mapper,
 * one confidential client per agent with service accounts on and a hard-coded `role` claim, and
 * the agent id read from `azp`. Without a Docker engine the suite is skipped, and says so.
 */
const KEYCLOAK_IMAGE = process.env['ORGMESH_KEYCLOAK_IMAGE'] ?? 'quay.io/keycloak/keycloak:26.0';
const AUDIENCE = 'urn:orgmesh:api';
const SECRET = `secret-${Math.random().toString(36).slice(2)}`;

const realm = {
  realm: 'orgmesh',
  enabled: true,
  clientScopes: [
    {
      name: 'orgmesh:agent',
      protocol: 'openid-connect',
      attributes: { 'include.in.token.scope': 'true' },
      protocolMappers: [
        {
          name: 'orgmesh-audience',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-audience-mapper',
          config: { 'included.custom.audience': AUDIENCE, 'access.token.claim': 'true' },
        },
      ],
    },
  ],
  clients: [
    {
      clientId: 'finance-agent',
      enabled: true,
      protocol: 'openid-connect',
      publicClient: false,
      clientAuthenticatorType: 'client-secret',
      secret: SECRET,
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
      defaultClientScopes: ['orgmesh:agent'],
      protocolMappers: [
        {
          name: 'role',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-hardcoded-claim-mapper',
          config: {
            'claim.name': 'role',
            'claim.value': 'finance',
            'jsonType.label': 'String',
            'access.token.claim': 'true',
          },
        },
      ],
    },
  ],
};

const docker = await dockerAvailable();
const describeWithDocker = docker ? describe : describe.skip;

describeWithDocker(`Keycloak recipe (testcontainers, ${KEYCLOAK_IMAGE}; skipped when no Docker engine answers)`, () => {
  let stop: (() => Promise<unknown>) | undefined;
  let issuer: string;

  beforeAll(async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(KEYCLOAK_IMAGE)
      .withCommand(['start-dev', '--import-realm'])
      .withCopyContentToContainer([
        { content: JSON.stringify(realm), target: '/opt/keycloak/data/import/orgmesh-realm.json' },
      ])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/realms/orgmesh/.well-known/openid-configuration', 8080).forStatusCode(200))
      .withStartupTimeout(240_000)
      .start();
    stop = () => container.stop();
    // start-dev derives the issuer from the request's host, so the mapped address is the issuer.
    issuer = `http://${container.getHost()}:${container.getMappedPort(8080)}/realms/orgmesh`;
  }, 300_000);

  afterAll(async () => {
    await stop?.();
  }, 60_000);

  it('client_credentials with a secret: a token the verifier accepts, agent from azp and role from the mapper', async () => {
    const problems: Array<{ key: string; reason: string }> = [];
    const settings = oidcClientSettings(
      OidcClientEnvSchema.parse({
        ORGMESH_OIDC_ISSUER: issuer,
        ORGMESH_OIDC_CLIENT_ID: 'finance-agent',
        ORGMESH_OIDC_CLIENT_SECRET: SECRET,
        ORGMESH_OIDC_SUBJECT_CLAIM: 'azp',
      }),
      undefined,
      problems,
    );
    expect(problems).toEqual([]);
    const source = new OidcTokenSource(settings!);
    try {
      const token = await source.current();
      expect(token).toMatchObject({ subject: 'finance-agent', role: 'finance' });
      const verifier = createJwtVerifier({
        issuer,
        audience: AUDIENCE,
        jwksUrl: `${issuer}/protocol/openid-connect/certs`,
        claims: { subject: 'azp' },
      });
      const principal = await verifier.verify(`Bearer ${token.token}`);
      expect(principal).toMatchObject({ subject: 'finance-agent', role: 'finance' });
      expect(principal.scopes).toContain('orgmesh:agent');
      // A wrong audience is refused: the audience mapper is what makes the token orgmesh's.
      const other = createJwtVerifier({
        issuer,
        audience: 'urn:someone-else',
        jwksUrl: `${issuer}/protocol/openid-connect/certs`,
        claims: { subject: 'azp' },
      });
      await expect(other.verify(`Bearer ${token.token}`)).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      source.stop();
    }
  });
});

