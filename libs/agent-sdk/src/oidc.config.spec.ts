import { describe, expect, it } from '@jest/globals';
import { OidcClientEnvSchema, oidcClientSettings } from './oidc.config.js';

function settings(env: Record<string, string>, files: Record<string, string> = {}) {
  const problems: Array<{ key: string; reason: string }> = [];
  const result = oidcClientSettings(OidcClientEnvSchema.parse(env), 'finance-agent', problems, (path) => {
    const text = files[path];
    if (text === undefined) throw new Error('ENOENT');
    return text;
  });
  return { result, problems };
}

const ISSUER = 'https://id.example.com/realms/orgmesh';

describe('ORGMESH_OIDC_* settings', () => {
  it('is off without an issuer, and says so for any other OIDC key set alone', () => {
    expect(settings({})).toEqual({ result: undefined, problems: [] });
    expect(settings({ ORGMESH_OIDC_CLIENT_SECRET: 'x' }).problems).toEqual([
      { key: 'ORGMESH_OIDC_CLIENT_SECRET', reason: 'needs ORGMESH_OIDC_ISSUER' },
    ]);
  });

  it('a client secret: client_secret_basic by default, the agent id as client id', () => {
    const { result, problems } = settings({
      ORGMESH_OIDC_ISSUER: ISSUER,
      ORGMESH_OIDC_CLIENT_SECRET: 's3cret',
      ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
      ORGMESH_OIDC_SUBJECT_CLAIM: 'azp',
    });
    expect(problems).toEqual([]);
    expect(result).toMatchObject({
      issuer: ISSUER,
      clientId: 'finance-agent',
      auth: { method: 'client_secret_basic', secret: 's3cret' },
      scope: 'orgmesh:agent',
      claims: { subject: 'azp' },
    });
  });

  it('refuses plain http off loopback, a secret and a key together, a missing credential, a public or unreadable key', () => {
    expect(
      settings({ ORGMESH_OIDC_ISSUER: 'http://id.example.com', ORGMESH_OIDC_CLIENT_SECRET: 'x' }).problems,
    ).toEqual([{ key: 'ORGMESH_OIDC_ISSUER', reason: 'expected https (plain http only on loopback)' }]);
    expect(
      settings({ ORGMESH_OIDC_ISSUER: 'http://127.0.0.1:9000', ORGMESH_OIDC_CLIENT_SECRET: 'x' }).problems,
    ).toEqual([]);
    expect(
      settings({
        ORGMESH_OIDC_ISSUER: ISSUER,
        ORGMESH_OIDC_CLIENT_SECRET: 'x',
        ORGMESH_OIDC_PRIVATE_KEY_FILE: '/k',
      }).problems[0]?.key,
    ).toBe('ORGMESH_OIDC_PRIVATE_KEY_FILE');
    expect(settings({ ORGMESH_OIDC_ISSUER: ISSUER }).problems[0]?.key).toBe('ORGMESH_OIDC_CLIENT_SECRET');
    expect(
      settings(
        { ORGMESH_OIDC_ISSUER: ISSUER, ORGMESH_OIDC_PRIVATE_KEY_FILE: '/k' },
        { '/k': '{"kty":"EC","crv":"P-256","x":"a","y":"b"}' },
      ).problems,
    ).toEqual([
      { key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE', reason: 'a public key: private_key_jwt needs the private key' },
    ]);
    expect(
      settings({ ORGMESH_OIDC_ISSUER: ISSUER, ORGMESH_OIDC_PRIVATE_KEY_FILE: '/missing' }).problems,
    ).toEqual([{ key: 'ORGMESH_OIDC_PRIVATE_KEY_FILE', reason: 'cannot be read' }]);
  });

  it('never puts a value into a problem', () => {
    const { problems } = settings({
      ORGMESH_OIDC_ISSUER: 'not a url with hunter2',
      ORGMESH_OIDC_CLIENT_SECRET: 'hunter2',
      ORGMESH_OIDC_PRIVATE_KEY_FILE: '/hunter2',
    });
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).not.toContain('hunter2');
  });
});
