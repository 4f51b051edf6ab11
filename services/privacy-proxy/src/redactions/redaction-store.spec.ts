import { describe, expect, it } from '@jest/globals';
import type { PrivacyRedactedPayload } from '@orgmesh/contracts';
import { createLogger } from '@orgmesh/telemetry';
import type { AuditSink } from '../audit/audit-sink.js';
import {
  countsOf,
  MemoryRedactionStore,
  RedactionRecorder,
  teeAudit,
  type RedactionCount,
  type RedactionStore,
} from './redaction-store.js';

const silent = createLogger({ service: 'redaction-store-spec', level: 'silent' });
const HOUR = 3_600_000;
const T = Date.parse('2026-03-02T09:41:00.000Z');

function event(role: string, parts: Partial<PrivacyRedactedPayload>): PrivacyRedactedPayload {
  return {
    eventId: '0b6f5f7e-3c1a-4d2b-9a57-2f1c8e4d9a10',
    role,
    agentId: `${role}-agent`,
    tenant: 'acme',
    mode: 'mask',
    outcome: 'masked',
    counts: {},
    maskedCounts: {},
    endpoint: 'openai.chat.completions',
    occurredAt: new Date(T).toISOString(),
    ...parts,
  };
}

describe('redaction counts', () => {
  it('takes the per-action counts of an audit event, and nothing else of it', () => {
    const rows = countsOf(
      event('analyst', {
        counts: { email: 2, ssn: 1, phone: 1 },
        maskedCounts: { email: 2 },
        passedCounts: { phone: 1 },
        refusedCounts: { ssn: 1 },
        sessionId: 'sess-1',
      }),
      T - (T % HOUR),
    );
    expect(rows).toEqual([
      {
        bucket: T - (T % HOUR),
        tenant: 'acme',
        role: 'analyst',
        entityType: 'email',
        action: 'masked',
        count: 2,
      },
      {
        bucket: T - (T % HOUR),
        tenant: 'acme',
        role: 'analyst',
        entityType: 'phone',
        action: 'passed',
        count: 1,
      },
      {
        bucket: T - (T % HOUR),
        tenant: 'acme',
        role: 'analyst',
        entityType: 'ssn',
        action: 'refused',
        count: 1,
      },
    ]);
  });

  it('sums per hour in memory and writes one batch per flush; a failed write is kept for the next', async () => {
    const written: RedactionCount[][] = [];
    let fail = true;
    const store: RedactionStore = {
      add(rows) {
        if (fail) return Promise.reject(new Error('down'));
        written.push(rows.map((r) => ({ ...r })));
        return Promise.resolve();
      },
      query: () => Promise.resolve([]),
    };
    let now = T;
    const recorder = new RedactionRecorder(store, silent, { now: () => now });
    recorder.emit(event('finance', { maskedCounts: { email: 1 } }));
    recorder.emit(event('finance', { maskedCounts: { email: 2, iban: 1 } }));
    await recorder.flush();
    expect(written).toEqual([]);
    fail = false;
    now = T + HOUR;
    recorder.emit(event('finance', { maskedCounts: { email: 5 } }));
    await recorder.flush();
    expect(written).toHaveLength(1);
    const batch = written[0]!.map((r) => [r.bucket - (T - (T % HOUR)), r.entityType, r.count]);
    expect(batch).toEqual(
      expect.arrayContaining([
        [0, 'email', 3],
        [0, 'iban', 1],
        [HOUR, 'email', 5],
      ]),
    );
    expect(batch).toHaveLength(3);
    await recorder.flush();
    expect(written).toHaveLength(1);
  });

  it('groups by hour or UTC day, filters by tenant, role and entity type, newest first', async () => {
    const store = new MemoryRedactionStore(Number.MAX_SAFE_INTEGER);
    const hour = (h: number) => Date.parse('2026-03-02T00:00:00.000Z') + h * HOUR;
    const row = (
      bucket: number,
      role: string,
      entityType: string,
      action: RedactionCount['action'],
      count: number,
    ) => ({
      bucket,
      tenant: 'acme',
      role,
      entityType,
      action,
      count,
    });
    await store.add([
      row(hour(-1), 'finance', 'email', 'masked', 1),
      row(hour(3), 'finance', 'email', 'masked', 2),
      row(hour(9), 'finance', 'email', 'masked', 4),
      row(hour(9), 'finance', 'email', 'refused', 1),
      row(hour(9), 'manager', 'email', 'passed', 7),
      { ...row(hour(9), 'finance', 'email', 'masked', 100), tenant: 'other' },
    ]);
    const query = { tenant: 'acme', from: hour(-24), to: hour(10), limit: 100 } as const;
    expect(await store.query({ ...query, bucket: 'hour', role: 'finance' })).toEqual([
      { bucket: hour(9), role: 'finance', entityType: 'email', masked: 4, passed: 0, refused: 1 },
      { bucket: hour(3), role: 'finance', entityType: 'email', masked: 2, passed: 0, refused: 0 },
      { bucket: hour(-1), role: 'finance', entityType: 'email', masked: 1, passed: 0, refused: 0 },
    ]);
    expect(await store.query({ ...query, bucket: 'day' })).toEqual([
      { bucket: hour(0), role: 'finance', entityType: 'email', masked: 6, passed: 0, refused: 1 },
      { bucket: hour(0), role: 'manager', entityType: 'email', masked: 0, passed: 7, refused: 0 },
      { bucket: hour(-24), role: 'finance', entityType: 'email', masked: 1, passed: 0, refused: 0 },
    ]);
    expect(await store.query({ ...query, bucket: 'day', entityType: 'ssn' })).toEqual([]);
  });

  it('tees the audit: the second sink gets every event even when the first throws', () => {
    const seen: string[] = [];
    const throwing: AuditSink = {
      emit() {
        throw new Error('sink down');
      },
    };
    const tee = teeAudit(throwing, { emit: (e) => seen.push(e.role) });
    expect(() => tee.emit(event('finance', {}))).toThrow('sink down');
    expect(seen).toEqual(['finance']);
  });
});
