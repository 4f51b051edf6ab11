import { describe, expect, it } from '@jest/globals';
import {
  bucketLabel,
  formatUsd,
  queryString,
  rangeQuery,
  redactionTable,
  series,
  usageTable,
  type RedactionRow,
  type UsageRow,
} from './counts';

const NOW = Date.parse('2026-03-02T09:41:12.000Z');

const redaction = (
  bucket: string,
  role: string,
  entityType: string,
  m: number,
  p = 0,
  r = 0,
): RedactionRow => ({
  bucket,
  role,
  entityType,
  masked: m,
  passed: p,
  refused: r,
});

const usage = (
  hour: string,
  agentId: string,
  role: string,
  model: string,
  input: number,
  cost: number,
): UsageRow => ({
  hour,
  agentId,
  role,
  model,
  provider: 'openai',
  requests: 1,
  inputTokens: input,
  outputTokens: input / 2,
  costUsd: cost,
});

describe('Privacy and Usage page logic', () => {
  it('asks for the last 24 hours by the hour, and whole UTC days by the day', () => {
    expect(rangeQuery('24h', NOW)).toEqual({
      from: '2026-03-01T09:41:12.000Z',
      to: '2026-03-02T09:41:12.000Z',
      bucket: 'hour',
    });
    // Seven days: today and the six before it, from midnight UTC.
    expect(rangeQuery('7d', NOW)).toMatchObject({ from: '2026-02-24T00:00:00.000Z', bucket: 'day' });
    expect(rangeQuery('30d', NOW).from).toBe('2026-02-01T00:00:00.000Z'); // 2026 is no leap year
  });

  it('leaves blank filters out of the query and trims the others', () => {
    expect(queryString({ role: ' finance ', entityType: '', limit: 10, x: undefined })).toBe(
      '?role=finance&limit=10',
    );
    expect(queryString({ role: '' })).toBe('');
    expect(queryString({ model: 'a&b' })).toBe('?model=a%26b');
  });

  it('sums redactions per role and entity type over the range, with a grand total', () => {
    const table = redactionTable([
      redaction('2026-03-02T09:00:00.000Z', 'finance', 'email', 2),
      redaction('2026-03-02T08:00:00.000Z', 'finance', 'email', 3, 0, 1),
      redaction('2026-03-02T08:00:00.000Z', 'finance', 'ssn', 9),
      redaction('2026-03-02T08:00:00.000Z', 'analyst', 'ssn', 0, 0, 4),
      redaction('2026-03-02T07:00:00.000Z', 'manager', 'email', 0, 5),
    ]);
    expect(table.rows).toEqual([
      { role: 'analyst', entityType: 'ssn', masked: 0, passed: 0, refused: 4, total: 4 },
      // Within a role, most findings first.
      { role: 'finance', entityType: 'ssn', masked: 9, passed: 0, refused: 0, total: 9 },
      { role: 'finance', entityType: 'email', masked: 5, passed: 0, refused: 1, total: 6 },
      { role: 'manager', entityType: 'email', masked: 0, passed: 5, refused: 0, total: 5 },
    ]);
    expect(table.sum).toEqual({ masked: 14, passed: 5, refused: 5, total: 24 });
    expect(redactionTable([])).toEqual({ rows: [], sum: { masked: 0, passed: 0, refused: 0, total: 0 } });
  });

  it('makes one stacked bar per bucket of the range, empty ones included, oldest first', () => {
    const range = {
      from: '2026-03-02T06:30:00.000Z',
      to: '2026-03-02T09:41:12.000Z',
      bucket: 'hour' as const,
    };
    const points = series(
      [
        redaction('2026-03-02T09:00:00.000Z', 'finance', 'email', 2, 1),
        redaction('2026-03-02T09:00:00.000Z', 'finance', 'ssn', 1, 0, 3),
        redaction('2026-03-02T07:00:00.000Z', 'manager', 'email', 0, 5),
        // Outside the range: left out.
        redaction('2026-03-01T07:00:00.000Z', 'manager', 'email', 100),
      ],
      range,
      (r) => r.bucket,
      (r) => [r.masked, r.passed, r.refused],
    );
    expect(points.map((p) => [p.at.slice(11, 16), p.parts, p.total])).toEqual([
      ['06:00', [], 0],
      ['07:00', [0, 5, 0], 5],
      ['08:00', [], 0],
      ['09:00', [3, 1, 3], 7],
    ]);
    // Hourly usage rows fall into their UTC day.
    const days = series(
      [
        usage('2026-03-01T23:00:00.000Z', 'a', 'r', 'm', 10, 0),
        usage('2026-03-02T00:00:00.000Z', 'a', 'r', 'm', 20, 0),
      ],
      { from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T09:00:00.000Z', bucket: 'day' },
      (r) => r.hour,
      (r) => [r.inputTokens],
    );
    expect(days.map((p) => [p.at, p.total])).toEqual([
      ['2026-03-01T00:00:00.000Z', 10],
      ['2026-03-02T00:00:00.000Z', 20],
    ]);
  });

  it('sums usage per agent, role or model, most expensive first', () => {
    const rows = [
      usage('2026-03-02T09:00:00.000Z', 'finance-agent', 'finance', 'gpt-4o-mini', 100, 0.002),
      usage('2026-03-02T08:00:00.000Z', 'finance-agent', 'finance', 'gpt-4.1', 40, 0.5),
      usage('2026-03-02T08:00:00.000Z', 'sales-agent', 'sales', 'gpt-4o-mini', 300, 0.004),
    ];
    expect(
      usageTable(rows, 'agentId').rows.map((r) => [r.key, r.requests, r.inputTokens, r.costUsd]),
    ).toEqual([
      ['finance-agent', 2, 140, 0.502],
      ['sales-agent', 1, 300, 0.004],
    ]);
    expect(usageTable(rows, 'model').rows.map((r) => [r.key, r.inputTokens, r.outputTokens])).toEqual([
      ['gpt-4.1', 40, 20],
      ['gpt-4o-mini', 400, 200],
    ]);
    expect(usageTable(rows, 'role').sum).toEqual({
      requests: 3,
      inputTokens: 440,
      outputTokens: 220,
      costUsd: 0.506,
    });
  });

  it('writes dollars and bucket labels readably', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(1.234)).toBe('$1.23');
    expect(formatUsd(0.000028)).toBe('$0.000028');
    expect(bucketLabel('2026-03-02T09:00:00.000Z', 'hour')).toBe('09:00');
    expect(bucketLabel('2026-03-02T00:00:00.000Z', 'day')).toBe('Mar 2');
  });
});
