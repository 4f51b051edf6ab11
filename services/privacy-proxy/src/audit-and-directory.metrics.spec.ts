import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { MessageBus } from '@orgmesh/messaging';
import { createLogger, metricConventionViolations } from '@orgmesh/telemetry';
import { AuditSpool } from './audit/audit-spool.js';
import { NatsAuditSink } from './audit/nats-audit-sink.js';
import { PrivacyProxyMetrics } from './privacy-proxy.metrics.js';
import { registerDirectoryMetrics } from './profiles/directory.metrics.js';

describe('audit spool and directory metrics (ADR 0013)', () => {
  it('follow the naming rules and show the spool backlog and the directory state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-metrics-'));
    try {
      const metrics = new PrivacyProxyMetrics();
      const spool = AuditSpool.open({ dir });
      // Never started: nothing is published, so what is emitted stays in the spool.
      const sink = new NatsAuditSink(
        {} as MessageBus,
        spool,
        createLogger({ service: 't', level: 'silent' }),
        {
          registry: metrics.registry,
        },
      );
      registerDirectoryMetrics(metrics.registry, () => ({
        loaded: true,
        stale: true,
        ageSeconds: 42.5,
        orgVersion: 3,
        people: 100_000,
      }));
      expect(await metricConventionViolations(metrics.registry, { requireSamples: false })).toEqual([]);
      sink.emit({
        eventId: '00000000-0000-4000-8000-000000000001',
        role: 'finance',
        agentId: 'finance-agent',
        tenant: 'acme',
        mode: 'mask',
        outcome: 'masked',
        counts: { email: 1 },
        maskedCounts: { email: 1 },
        endpoint: 'openai.chat.completions',
        occurredAt: new Date().toISOString(),
      });
      const text = await metrics.registry.metrics();
      expect(Number(/^orgmesh_privacy_audit_spool_bytes\{[^}]*\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(
        100,
      );
      expect(text).toMatch(/^orgmesh_privacy_audit_dropped_total\{[^}]*\} 0$/m);
      expect(text).toMatch(/^orgmesh_privacy_directory_stale\{[^}]*\} 1$/m);
      expect(text).toMatch(/^orgmesh_privacy_directory_age_seconds\{[^}]*\} 42.5$/m);
      expect(text).toMatch(/^orgmesh_privacy_directory_people\{[^}]*\} 100000$/m);
      await spool.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
