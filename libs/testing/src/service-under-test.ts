import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger, type Logger } from '@orgmesh/telemetry';
import type { TestContext } from './test-context.js';

const silent = createLogger({ service: 'test-client', level: 'silent' });

/**
 * The environment of a service under test in `ctx`, what each service's harness puts under its own
 * test defaults and a test's overrides: the context's bus namespace (NATS_URL, NATS_SUBJECT_PREFIX,
 * NATS_NAME_SUFFIX) and database (DATABASE_URL; a service without one ignores it), silent logs, and
 * each of `ports` (`SESSIONS_HTTP_PORT`, …) chosen by the OS.
 */
export function serviceTestEnv(ctx: TestContext, ports: readonly string[] = []): Record<string, string> {
  return {
    NATS_URL: ctx.natsUrl,
    NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
    NATS_NAME_SUFFIX: ctx.nameSuffix,
    DATABASE_URL: ctx.databaseUrl,
    LOG_LEVEL: 'silent',
    ...Object.fromEntries(ports.map((port) => [port, '0'])),
  };
}

/** A bus named `name` in the same isolated namespace as the services under test in `ctx`. */
export function namespaceBus(
  ctx: TestContext,
  name: string,
  options: { natsUrl?: string; logger?: Logger } = {},
): Promise<MessageBus> {
  return connectBus({
    url: options.natsUrl ?? ctx.natsUrl,
    name,
    subjectPrefix: ctx.subjectPrefix,
    nameSuffix: ctx.nameSuffix,
    logger: options.logger ?? silent,
  });
}
