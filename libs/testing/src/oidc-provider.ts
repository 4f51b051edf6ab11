import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JWK } from 'jose';
import { freePort } from './ports.js';
import { stopChild } from './server-process.js';

/** A client registered at the test provider. */
export interface OidcTestClient {
  clientId: string;
  /** client_secret_basic / client_secret_post clients. */
  clientSecret?: string;
  /** private_key_jwt clients: the public half of the key they sign assertions with. */
  publicJwk?: JWK;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** Scopes the client may be granted (space-separated). */
  scope: string;
  /** Extra claims of its access tokens (`role`, or a provider-style claim such as `orgmesh.role`). */
  claims: Record<string, unknown>;
}

export interface OidcTestProviderOptions {
  clients: OidcTestClient[];
  /** The resource indicator (an absolute URI, RFC 8707) and the `aud` of every access token. */
  audience: string;
  /** Access-token lifetime; default 300 s. */
  accessTokenTtlSec?: number;
}

export interface OidcProviderStats {
  /** Token requests the provider has received (any outcome). */
  tokenRequests: number;
  /** JWKS documents served. */
  jwksRequests: number;
  /** The kid new tokens are signed with. */
  kid: string;
}

/** A real OpenID provider (the certified `oidc-provider`) in a child process on a free loopback port. */
export interface OidcTestProvider {
  readonly issuer: string;
  readonly jwksUrl: string;
  stats(): Promise<OidcProviderStats>;
  /** Signs from now on with a new key; the old one stays published, as a provider rotating with overlap does. */
  rotateKey(): Promise<string>;
  /** Takes the provider off the network (connections refused) until `resume()`. */
  suspend(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** The server script: beside this file in src/ (jest) and copied next to the build in dist/. */
function serverScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'oidc-provider.server.mjs'),
    join(here, '..', 'src', 'oidc-provider.server.mjs'),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`oidc-provider.server.mjs not found near ${here}`);
  return found;
}

/**
 * Starts `oidc-provider` with client_credentials, JWT access tokens for one resource (RFC 8707)
 * and the given clients. Its keys are generated in the child, per run; nothing is read from disk.
 * Secrets reach the child over IPC, never on its command line.
 */
export async function startOidcProvider(options: OidcTestProviderOptions): Promise<OidcTestProvider> {
  const child: ChildProcess = fork(serverScript(), [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    // oidc-provider warns about its in-memory adapter on stderr: expected for a test provider.
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const entry = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) entry?.reject(new Error(`oidc-provider: ${message.error}`));
    else entry?.resolve(message.result);
  });
  child.once('exit', (code) => {
    for (const entry of waiting.values())
      entry.reject(new Error(`oidc-provider exited (${code}): ${stderr}`));
    waiting.clear();
  });
  const call = <T>(command: string, extra: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, command, ...extra });
    });

  const port = await freePort();
  const { issuer } = await call<{ issuer: string }>('configure', { options, port }).catch(async (error) => {
    child.kill();
    throw error;
  });
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    stats: () => call<OidcProviderStats>('stats'),
    rotateKey: async () => (await call<{ kid: string }>('rotate')).kid,
    suspend: async () => {
      await call('suspend');
    },
    resume: async () => {
      await call('resume');
    },
    close: () => stopChild(child),
  };
}
