import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { AuditSpool, AuditSpoolLockedError } from './audit-spool.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'audit-spool-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function drain(spool: AuditSpool): Promise<string[]> {
  const out: string[] = [];
  for (let batch = await spool.read(); batch.lines.length > 0; batch = await spool.read()) {
    out.push(...batch.lines);
    await spool.commit(batch);
  }
  return out;
}

describe('AuditSpool', () => {
  it('reads back what was appended, once committed it is not read again', async () => {
    const spool = AuditSpool.open({ dir: freshDir() });
    spool.append('{"n":1}');
    spool.append('{"n":2}');
    expect(await drain(spool)).toEqual(['{"n":1}', '{"n":2}']);
    expect(spool.pendingBytes).toBe(0);
    spool.append('{"n":3}');
    expect(await drain(spool)).toEqual(['{"n":3}']);
    await spool.close();
  });

  it('hands what a closed or killed process left unpublished to the next one, skipping a torn last line', async () => {
    const dir = freshDir();
    const first = AuditSpool.open({ dir });
    first.append('{"n":1}');
    first.append('{"n":2}');
    const batch = await first.read();
    // Only the first line was published before the process went away.
    await first.commit({
      ...batch,
      lines: batch.lines.slice(0, 1),
      end: { ...batch.end, offset: 8 },
      bytes: 8,
    });
    await first.durable();
    await first.close();
    const [segment] = readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
    appendFileSync(join(dir, segment!), '{"n":3}\n{"n":'); // a crash mid-write
    const second = AuditSpool.open({ dir });
    expect(second.pendingBytes).toBeGreaterThan(0);
    // Replay starts at the segment's beginning: the published line comes again (consumers dedupe).
    expect(await drain(second)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    second.append('{"n":4}');
    expect(await drain(second)).toEqual(['{"n":4}']);
    expect(second.pendingBytes).toBe(0);
    await second.close();
  });

  it('rotates a fully published segment past rotateBytes and deletes it', async () => {
    const dir = freshDir();
    const spool = AuditSpool.open({ dir, rotateBytes: 100 });
    for (let i = 0; i < 20; i++) spool.append(`{"n":${i}}`);
    expect(await drain(spool)).toHaveLength(20);
    const segments = readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
    expect(segments).toHaveLength(1);
    spool.append('{"n":20}');
    expect(await drain(spool)).toEqual(['{"n":20}']);
    await spool.close();
  });

  it('refuses an append past maxBytes of unpublished events', async () => {
    const spool = AuditSpool.open({ dir: freshDir(), maxBytes: 20 });
    expect(spool.append('{"n":1}')).toBe(true);
    expect(spool.append('{"n":2}')).toBe(true);
    expect(spool.append('{"n":3}')).toBe(false);
    await drain(spool);
    expect(spool.append('{"n":3}')).toBe(true);
    await spool.close();
  });

  it('refuses a directory a live process holds', async () => {
    const dir = freshDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'LOCK'), String(process.ppid));
    expect(() => AuditSpool.open({ dir })).toThrow(AuditSpoolLockedError);
    // A dead holder's lock is taken over.
    writeFileSync(join(dir, 'LOCK'), '999999999');
    const spool = AuditSpool.open({ dir });
    await spool.close();
  });
});
