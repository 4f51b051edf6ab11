import type { Logger } from '@orgmesh/telemetry';

/** The start options a service's harness sets for every test (service-host's ServiceAppOptions). */
interface HarnessSet {
  logger?: Logger;
  migrate?: boolean;
  startJobs?: boolean;
}

/** What a harness's start takes: the app options a test may set, and `overrides` of its test config's env. */
export type TestServiceOptions<AppOptions, Keys extends keyof AppOptions> = Pick<AppOptions, Keys> & {
  overrides?: Record<string, string>;
};

/**
 * Starts a stateful service as its test harness does: on `configOf(overrides)`, logging to `logger`
 * (the harness's silent one), its migrations applied, its background jobs left to the test (run by
 * hand) unless it passes `startJobs`; the test's other options go to `start` as given.
 */
export function startTestService<Config, AppOptions extends HarnessSet, App>(
  start: (config: Config, options?: AppOptions) => Promise<App>,
  configOf: (overrides?: Record<string, string>) => Config,
  // AppOptions come from `start` alone, so an option it does not take is an error here.
  options: NoInfer<Omit<AppOptions, 'logger' | 'migrate'>> & {
    overrides?: Record<string, string>;
    startJobs?: boolean;
  },
  logger: Logger,
): Promise<App> {
  const { overrides, startJobs = false, ...appOptions } = options;
  return start(configOf(overrides), { ...appOptions, logger, migrate: true, startJobs } as AppOptions);
}
