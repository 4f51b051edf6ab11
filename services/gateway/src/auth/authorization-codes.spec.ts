import { afterEach, describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { AuthorizationCodes, consoleClient, s256 } from './authorization-codes.js';

const VERIFIER = 'v'.repeat(20) + '-._~' + 'A1'.repeat(10);
const REDIRECT = 'http://127.0.0.1:8080/console/';

function refusal(fn: () => unknown): { code: string; error: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError)
      return { code: error.code, error: error.details?.['error'], message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('AuthorizationCodes (PKCE S256)', () => {
  let now = 1_000_000;
  let codes: AuthorizationCodes;
  const make = () => (codes = new AuthorizationCodes(60_000, () => now, 3));
  afterEach(() => codes?.close());

  const issue = () =>
    codes.issue({
      clientId: 'orgmesh-console',
      redirectUri: REDIRECT,
      codeChallenge: s256(VERIFIER),
      personId: 'u00004',
    });

  it('computes the challenge as a browser does (WebCrypto SHA-256, base64url without padding)', async () => {
    const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(VERIFIER)));
    const browser = btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(s256(VERIFIER)).toBe(browser);
    expect(s256(VERIFIER)).toHaveLength(43);
  });

  it('redeems a code once, with the right client, redirect URI and verifier', () => {
    make();
    const code = issue();
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(
      codes.redeem({ code, clientId: 'orgmesh-console', redirectUri: REDIRECT, codeVerifier: VERIFIER }),
    ).toMatchObject({
      personId: 'u00004',
    });
    expect(
      refusal(() =>
        codes.redeem({ code, clientId: 'orgmesh-console', redirectUri: REDIRECT, codeVerifier: VERIFIER }),
      ),
    ).toMatchObject({
      code: 'validation_failed',
      error: 'invalid_grant',
      message: expect.stringContaining('already used'),
    });
  });

  it('refuses a wrong verifier, and the code is gone afterwards (single use even when refused)', () => {
    make();
    const code = issue();
    const wrong = 'w'.repeat(43);
    expect(
      refusal(() =>
        codes.redeem({ code, clientId: 'orgmesh-console', redirectUri: REDIRECT, codeVerifier: wrong }),
      ),
    ).toMatchObject({
      error: 'invalid_grant',
      message: expect.stringContaining('code_verifier does not match'),
    });
    expect(
      refusal(() =>
        codes.redeem({ code, clientId: 'orgmesh-console', redirectUri: REDIRECT, codeVerifier: VERIFIER }),
      ),
    ).toMatchObject({ message: expect.stringContaining('already used') });
  });

  it('refuses another redirect URI, another client, a malformed verifier, an expired code', () => {
    make();
    const cases: Array<[Partial<{ clientId: string; redirectUri: string; codeVerifier: string }>, string]> = [
      [{ redirectUri: 'http://127.0.0.1:8080/console/x' }, 'redirect_uri differs'],
      [{ clientId: 'other' }, 'another client'],
      [{ codeVerifier: 'short' }, '43-128 characters'],
    ];
    for (const [change, message] of cases) {
      const code = issue();
      const input = {
        code,
        clientId: 'orgmesh-console',
        redirectUri: REDIRECT,
        codeVerifier: VERIFIER,
        ...change,
      };
      expect(refusal(() => codes.redeem(input)).message).toContain(message);
    }
    const code = issue();
    now += 60_000;
    expect(
      refusal(() =>
        codes.redeem({ code, clientId: 'orgmesh-console', redirectUri: REDIRECT, codeVerifier: VERIFIER }),
      ).message,
    ).toContain('expired');
  });

  it('bounds the codes outstanding', () => {
    make();
    issue();
    issue();
    issue();
    expect(refusal(() => issue()).code).toBe('rate_limited');
    now += 60_001;
    expect(issue()).toBeDefined();
  });

  it('registers the console at exactly <gateway>/console/', () => {
    expect(consoleClient('http://gw:8080/')).toEqual({
      clientId: 'orgmesh-console',
      redirectUris: ['http://gw:8080/console/'],
    });
  });
});
