import { createJwtVerifier, LocalIssuer, type JwtVerifier } from '@orgmesh/auth';
import { AppError } from '@orgmesh/contracts';
import type { TestContext, TestServiceOptions } from '@orgmesh/testing';
import { createTestContext, namespaceBus, serviceTestEnv, startTestService } from '@orgmesh/testing';
import type { MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { loadSessionsConfig, type SessionsConfig } from '../sessions.config.js';
import { startSessionsApp, type SessionsApp, type SessionsAppOptions } from '../sessions.app.js';

export const silentLogger = createLogger({ service: 'sessions-test', level: 'silent' });

export function testConfig(ctx: TestContext, overrides: Record<string, string> = {}): SessionsConfig {
  return loadSessionsConfig({ ...serviceTestEnv(ctx, ['SESSIONS_HTTP_PORT']), ...overrides });
}

/**
 * Which issuer the sessions services of a test context trust. Tests start sessions before the
 * gateway whose issuer they will trust, so the services ask at each verification, not at start:
 * `startTestGateway` registers its issuer here, sessions-only tests a local one (`sessionsIssuer`).
 */
// Keyed by the subject prefix: tests hand the services copies of their context ({ ...ctx, natsUrl }).
const trusted = new Map<string, JwtVerifier>();

export function trustIssuer(ctx: TestContext, verifier: JwtVerifier): void {
  trusted.set(ctx.subjectPrefix, verifier);
}

/** Trusts a local issuer's tokens (tests that sign their own, like the mesh router's). */
export function trustLocalIssuer(ctx: TestContext, issuer: LocalIssuer): void {
  trustIssuer(
    ctx,
    createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }),
  );
}

function contextVerifier(ctx: TestContext): JwtVerifier {
  return {
    async verify(token) {
      const verifier = trusted.get(ctx.subjectPrefix);
      if (!verifier) throw new AppError('unauthenticated', 'the test context trusts no issuer yet');
      return verifier.verify(token);
    },
  };
}

const issuers = new Map<string, Promise<LocalIssuer>>();

/** The context's own issuer, trusted by its sessions services: for tests that call the bus directly. */
export function sessionsIssuer(ctx: TestContext): Promise<LocalIssuer> {
  let issuer = issuers.get(ctx.subjectPrefix);
  if (!issuer) {
    issuer = LocalIssuer.create().then((created) => {
      trustLocalIssuer(ctx, created);
      return created;
    });
    issuers.set(ctx.subjectPrefix, issuer);
  }
  return issuer;
}

/** `Bearer <token>` of the context's issuer; an agent of `role` by default, `orgmesh:admin` for admins. */
export async function sessionsBearer(
  ctx: TestContext,
  subject: string,
  role: string,
  scope = role === 'admin' ? 'orgmesh:admin' : 'orgmesh:agent',
): Promise<string> {
  return `Bearer ${await (await sessionsIssuer(ctx)).sign({ sub: subject, role, scope })}`;
}

/**
 * A client bus in the same isolated namespace as the service under test. Its requests carry
 * `authorization` (default: an admin of the context's issuer) unless a call names its own.
 */
export async function clientBus(
  ctx: TestContext,
  natsUrl = ctx.natsUrl,
  authorization?: string,
): Promise<MessageBus> {
  const bus = await namespaceBus(ctx, 'sessions-test-client', { natsUrl, logger: silentLogger });
  return authorizeBus(bus, authorization ?? (await sessionsBearer(ctx, 'sessions-test-admin', 'admin')));
}

/** Makes a test's bus send `authorization` with every request that does not name its own. */
export function authorizeBus(bus: MessageBus, authorization: string): MessageBus {
  const request = bus.request.bind(bus);
  bus.request = ((rpc, payload, opts = {}) =>
    request(rpc, payload, { authorization, ...opts })) as MessageBus['request'];
  return bus;
}

/**
 * The sessions service on `testConfig` (plus `overrides`), migrated, silent, verifying the context's
 * issuer unless given a verifier, its jobs run by hand unless `startJobs`.
 */
export function startTestSessions(
  ctx: TestContext,
  options: TestServiceOptions<SessionsAppOptions, 'clock' | 'startJobs' | 'verifier'> = {},
): Promise<SessionsApp> {
  return startTestService(
    startSessionsApp,
    (overrides) => testConfig(ctx, overrides),
    { ...options, verifier: options.verifier ?? contextVerifier(ctx) },
    silentLogger,
  );
}

export { createTestContext };
