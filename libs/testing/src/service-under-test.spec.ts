import { describe, expect, it } from '@jest/globals';
import { serviceTestEnv } from './service-under-test.js';
import type { TestContext } from './test-context.js';

const ctx: TestContext = {
  natsUrl: 'nats://127.0.0.1:4222',
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/om_t1',
  subjectPrefix: 't1.',
  nameSuffix: '_t1',
  token: 't1',
  dispose: async () => undefined,
};

describe('serviceTestEnv', () => {
  it("is the context's namespace and database, silent logs, and OS-chosen ports for the keys named", () => {
    expect(serviceTestEnv(ctx, ['SESSIONS_HTTP_PORT'])).toEqual({
      NATS_URL: 'nats://127.0.0.1:4222',
      NATS_SUBJECT_PREFIX: 't1.',
      NATS_NAME_SUFFIX: '_t1',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/om_t1',
      LOG_LEVEL: 'silent',
      SESSIONS_HTTP_PORT: '0',
    });
    expect(serviceTestEnv(ctx)).not.toHaveProperty('SESSIONS_HTTP_PORT');
  });
});
