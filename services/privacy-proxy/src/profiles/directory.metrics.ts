import { Gauge, type Registry } from 'prom-client';
import type { DirectoryStatus } from './profile-source.js';

/**
 * The directory's gauges, read from the source at scrape time (nothing is scanned): how old the
 * dictionary in use is, whether the last refresh failed, and how many people it names.
 */
export function registerDirectoryMetrics(registry: Registry, status: () => DirectoryStatus): void {
  new Gauge({
    name: 'orgmesh_privacy_directory_age_seconds',
    help: 'Seconds since the registry last confirmed the org directory the privacy proxy detects names with',
    registers: [registry],
    collect() {
      this.set(status().ageSeconds);
    },
  });
  new Gauge({
    name: 'orgmesh_privacy_directory_stale',
    help: '1 while refreshing the org directory fails and the last good one is in use, else 0',
    registers: [registry],
    collect() {
      this.set(status().stale ? 1 : 0);
    },
  });
  new Gauge({
    name: 'orgmesh_privacy_directory_people',
    help: 'People in the org directory the privacy proxy detects names with',
    registers: [registry],
    collect() {
      this.set(status().people);
    },
  });
}
