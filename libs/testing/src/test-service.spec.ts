import { describe, expect, it } from '@jest/globals';
import { createLogger, type Logger } from '@orgmesh/telemetry';
import { startTestService } from './test-service.js';

interface Options {
  logger?: Logger;
  migrate?: boolean;
  startJobs?: boolean;
  clock?: string;
}

const logger = createLogger({ service: 'test-service-spec', level: 'silent' });

/** A start that answers what it was given, so the spec sees the config and options as a service would. */
async function start(config: { env: Record<string, string> }, options?: Options) {
  return { config, options };
}

describe('startTestService', () => {
  it('starts on the config of the overrides, with the logger, migrated, jobs by hand, other options as given', async () => {
    const seen: Array<Record<string, string> | undefined> = [];
    const started = await startTestService(
      start,
      (overrides) => {
        seen.push(overrides);
        return { env: { BASE: '1', ...overrides } };
      },
      { overrides: { PORT: '0' }, clock: 'pinned' },
      logger,
    );
    expect(seen).toEqual([{ PORT: '0' }]);
    expect(started.config).toEqual({ env: { BASE: '1', PORT: '0' } });
    // `overrides` are the config's, not the start's.
    expect(started.options).toEqual({ clock: 'pinned', logger, migrate: true, startJobs: false });
  });

  it('starts the jobs when the test asks', async () => {
    const started = await startTestService(start, () => ({ env: {} }), { startJobs: true }, logger);
    expect(started.options?.startJobs).toBe(true);
  });
});
