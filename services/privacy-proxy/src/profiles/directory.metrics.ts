import type { Registry } from 'prom-client';
import { seriesOn } from '@orgmesh/telemetry';
import type { DirectoryStatus } from './profile-source.js';

/**
 * The directory's gauges, read from the source at scrape time (nothing is scanned): how old the
 * dictionary in use is, whether the last refresh failed, and how many people it names.
 */
export function registerDirectoryMetrics(registry: Registry, status: () => DirectoryStatus): void {
  const series = seriesOn(registry);
  series.gauge(
    'orgmesh_privacy_directory_age_seconds',
    'Seconds since the registry last confirmed the org directory the privacy proxy detects names with',
    { read: () => status().ageSeconds },
  );
  series.gauge(
    'orgmesh_privacy_directory_stale',
    '1 while refreshing the org directory fails and the last good one is in use, else 0',
    { read: () => (status().stale ? 1 : 0) },
  );
  series.gauge(
    'orgmesh_privacy_directory_people',
    'People in the org directory the privacy proxy detects names with',
    { read: () => status().people },
  );
}
