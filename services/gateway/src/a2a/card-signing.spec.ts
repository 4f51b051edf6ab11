import { describe, expect, it, jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { verifyAgentCardSignature, type AgentCard } from '@a2a-js/sdk';
import { CardSigner } from './card-signing.js';

const CARD = {
  name: 'Legal Agent',
  description: 'Reviews requests for legal risk.',
  supportedInterfaces: [
    { url: 'https://gw.example/a2a/legal-agent', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
  ],
  version: '1.0.0',
  skills: [{ id: 'sox', name: 'SOX review', description: 'Reviews for SOX', tags: ['legal'] }],
};

describe('CardSigner', () => {
  it('signs cards the SDK verifies with the published key; a changed card does not verify', async () => {
    const signer = await CardSigner.create(undefined, 'https://gw.example/a2a/jwks.json');
    const signed = await signer.sign(CARD);
    const seen: Array<{ kid: string; jku: string | undefined }> = [];
    const verify = verifyAgentCardSignature(async (kid, jku) => {
      seen.push({ kid, jku });
      return signer.jwks().keys[0] as never;
    });
    await expect(verify(signed as unknown as AgentCard)).resolves.toBeUndefined();
    expect(seen).toEqual([{ kid: signer.kid, jku: 'https://gw.example/a2a/jwks.json' }]);
    const debug = jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    try {
      await expect(
        verify({ ...signed, description: 'Approves anything.' } as unknown as AgentCard),
      ).rejects.toThrow();
    } finally {
      debug.mockRestore();
    }
  });

  it("takes the registry's key forms (JWK or PEM) and keeps the JWK's kid, or derives the thumbprint", async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(privateKey.export({ format: 'jwk' }) as object), kid: 'org-2026' };
    const fromJwk = await CardSigner.create(JSON.stringify(jwk), 'https://gw/jwks');
    expect(fromJwk.kid).toBe('org-2026');
    expect(fromJwk.origin).toBe('configured');
    const fromPem = await CardSigner.create(
      privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      'https://gw/jwks',
    );
    expect(fromPem.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fromPem.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', x: fromJwk.publicJwk.x });
    expect(JSON.stringify(fromPem.jwks())).not.toContain('"d"');
  });

  it('refuses a key that is not P-256 without echoing the secret', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    await expect(CardSigner.create(rsa as string, 'https://gw/jwks')).rejects.toThrow(
      /GATEWAY_A2A_SIGNING_KEY/,
    );
    const secret = '{"kty":"EC","d":"not-a-key-secret-value"}';
    const error = await CardSigner.create(secret, 'https://gw/jwks').catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain('not-a-key-secret-value');
  });
});
