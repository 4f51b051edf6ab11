import { fork, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createJwtVerifier, type JwtVerifier, type LocalIssuer } from '@orgmesh/auth';
import { createLogger } from '@orgmesh/telemetry';
import { loadSessionsConfig, startSessionsApp } from '@orgmesh/sessions/testing';

/**
 * A sessions service in a child process of the caller-verification benchmark, with its token
 * verification in one of three modes; the bench process is the client, as in a deployment.
 * - `off`: every caller is taken to be the bench's admin, the token is not looked at (the baseline);
 * - `cached`: the production verifier (libs/auth), which verifies a token once and then serves it
 *   from its cache until it expires: what a caller reusing its token pays;
 * - `uncached`: the same verifier with its cache off: a full signature and claims check per call,
 *   what each new token costs.
 */
export type VerificationMode = 'off' | 'cached' | 'uncached';

export interface SessionsChildOptions {
  readonly mode: VerificationMode;
  /** The service's environment (NATS, database, namespace). */
  readonly env: Record<string, string>;
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: LocalIssuer['jwks'];
}

type Reply = { readonly ready?: true; readonly error?: string };

function verifierFor(options: SessionsChildOptions): JwtVerifier {
  if (options.mode === 'off') {
    return {
      verify: async (token) => ({
        subject: 'bench-admin',
        role: 'admin',
        tenant: 'default',
        scopes: ['orgmesh:admin'],
        token: token ?? '',
      }),
    };
  }
  return createJwtVerifier({
    issuer: options.issuer,
    audience: options.audience,
    jwks: options.jwks,
    ...(options.mode === 'uncached' ? { cacheSize: 0 } : {}),
  });
}

function serveParent(): void {
  let close: (() => Promise<void>) | undefined;
  process.once('message', (options: SessionsChildOptions) => {
    startSessionsApp(loadSessionsConfig(options.env), {
      verifier: verifierFor(options),
      migrate: true,
      startJobs: false,
      followMesh: false,
      logger: createLogger({
        service: `bench-sessions-${options.mode}`,
        level: 'warn',
        destination: new Writable({ write: (_c, _e, cb) => cb() }),
      }),
    }).then(
      (app) => {
        close = () => app.close();
        process.send!({ ready: true } satisfies Reply);
      },
      (error: unknown) =>
        process.send!({ error: error instanceof Error ? error.message : String(error) } satisfies Reply),
    );
  });
  process.on('disconnect', () => {
    void (close?.() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}

/** Forks this module and starts a sessions service in it; `close()` stops it and waits for the exit. */
export async function startSessionsChild(options: SessionsChildOptions): Promise<{ close(): Promise<void> }> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--bench-child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = await new Promise<Reply>((resolve, reject) => {
    child.once('message', (message: Reply) => resolve(message));
    child.once('exit', (code) => reject(new Error(`sessions bench child exited (${code})`)));
    child.send(options);
  });
  if (!reply.ready) throw new Error(`sessions bench child failed: ${reply.error ?? 'no answer'}`);
  return {
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

if (process.argv.includes('--bench-child')) serveParent();
