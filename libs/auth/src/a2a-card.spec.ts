import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateAgentCardSignature, type AgentCard } from '@a2a-js/sdk';
import { calculateJwkThumbprint, FlattenedSign, type JWK } from 'jose';
import { AgentCardRefused, fetchVerifiedAgentCard } from './a2a-card.js';

/** Cards and key sets served over real HTTP on loopback, path → body (a string is sent as is). */
async function serve(routes: Map<string, unknown>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const body = routes.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const baseCard = {
  name: 'Outside Counsel',
  description: 'Answers legal questions.',
  version: '1.0.0',
  supportedInterfaces: [
    { url: 'http://127.0.0.1:1/a2a', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
  ],
  capabilities: { streaming: true },
  defaultInputModes: ['text/plain'],
  defaultOutputModes: ['text/plain'],
  skills: [{ id: 'sox', name: 'SOX review', description: 'SOX', tags: ['legal'] }],
};

describe('fetchVerifiedAgentCard', () => {
  const routes = new Map<string, unknown>();
  let server: Server;
  let url: string;
  let kid: string;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  async function sign(
    card: Record<string, unknown>,
    header: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const signer = generateAgentCardSignature(privateKey, { alg: 'ES256', kid, typ: 'JOSE', ...header });
    const signed = await signer(card as unknown as AgentCard);
    return {
      ...card,
      signatures: signed.signatures.map(({ protected: p, signature }) => ({ protected: p, signature })),
    };
  }

  beforeAll(async () => {
    ({ server, url } = await serve(routes));
    const jwk = publicKey.export({ format: 'jwk' }) as JWK;
    kid = await calculateJwkThumbprint(jwk, 'sha256');
    routes.set('/jwks.json', { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] });
    routes.set('/unsigned.json', baseCard);
    routes.set('/signed.json', await sign(baseCard, { jku: `${url}/jwks.json` }));
    routes.set('/foreign-jku.json', await sign(baseCard, { jku: 'https://keys.example.test/jwks.json' }));
    routes.set('/no-jku.json', await sign(baseCard, {}));
    routes.set('/not-json.json', 'not json');
    routes.set('/array.json', []);
    // An HMAC "signature": whoever knows the secret could have made it; never accepted for a card.
    const hmac = await new FlattenedSign(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'JOSE' })
      .sign(new TextEncoder().encode('a-shared-secret-a-shared-secret!'));
    routes.set('/hmac.json', {
      ...baseCard,
      signatures: [{ protected: hmac.protected, signature: hmac.signature }],
    });
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function refusal(path: string, options = {}): Promise<AgentCardRefused> {
    const error = await fetchVerifiedAgentCard(`${url}${path}`, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof AgentCardRefused)) throw new Error(`expected a refusal, got ${String(error)}`);
    return error;
  }

  it('accepts an unsigned card as unsigned, and a signed one whose key is at its jku on its origin', async () => {
    await expect(fetchVerifiedAgentCard(`${url}/unsigned.json`)).resolves.toMatchObject({
      signature: 'unsigned',
      card: { name: 'Outside Counsel' },
    });
    await expect(fetchVerifiedAgentCard(`${url}/signed.json`)).resolves.toEqual({
      signature: 'signed',
      kid,
      card: expect.objectContaining({ name: 'Outside Counsel' }),
    });
  });

  it('a pinned JWKS replaces the jku: a signature naming keys elsewhere verifies against it', async () => {
    await expect(
      fetchVerifiedAgentCard(`${url}/foreign-jku.json`, { jwksUrl: `${url}/jwks.json` }),
    ).resolves.toMatchObject({ signature: 'signed', kid });
  });

  it('refuses, naming why: keys on another origin, no jku, an HMAC algorithm', async () => {
    expect((await refusal('/foreign-jku.json')).message).toBe(
      "card signature does not verify: signature 1 names keys on https://keys.example.test, not on the card's origin (pin a JWKS to trust it)",
    );
    expect((await refusal('/no-jku.json')).message).toBe(
      'card signature does not verify: signature 1 names no jku and no JWKS is pinned',
    );
    expect((await refusal('/hmac.json')).message).toBe(
      'card signature does not verify: signature 1 uses algorithm HS256, not an asymmetric one',
    );
  });

  it('refuses what is not a card: HTTP errors, not JSON, not an object', async () => {
    expect((await refusal('/missing.json')).message).toBe(
      `the card at ${url}/missing.json answered HTTP 404`,
    );
    expect((await refusal('/not-json.json')).message).toBe(`the card at ${url}/not-json.json is not JSON`);
    expect((await refusal('/array.json')).message).toBe(`the card at ${url}/array.json is not a JSON object`);
    expect((await refusal('/missing.json')).reason).toBe('unreachable');
  });
});
