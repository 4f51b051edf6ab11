import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CORPUS_DIR, corpusDetector, evaluate, loadCorpus, renderReport } from './corpus-quality.js';

const STRUCTURED = ['email', 'ssn', 'credit_card', 'iban', 'ip_address', 'phone'];

describe('detection quality on the labelled corpus', () => {
  const detector = corpusDetector();
  const pii = loadCorpus('pii.jsonl');
  const clean = loadCorpus('clean.jsonl');
  const report = evaluate(detector, pii, clean);

  it('has the corpus size the issue asks for', () => {
    expect(pii.length).toBeGreaterThanOrEqual(300);
    expect(clean.length).toBeGreaterThanOrEqual(200);
    expect(clean.every((l) => l.entities.length === 0)).toBe(true);
    expect(pii.every((l) => l.entities.length > 0)).toBe(true);
  });

  it('reaches recall ≥ 0.99 on the structured types and flags ≤ 1 % of clean lines; writes REPORT.md', () => {
    writeFileSync(join(CORPUS_DIR, 'REPORT.md'), renderReport(report));
    for (const type of STRUCTURED) {
      const score = report.byType.find((t) => t.type === type);
      expect({ type, recall: score?.recall }).toEqual({ type, recall: expect.any(Number) });
      expect({ type, ok: (score?.recall ?? 0) >= 0.99 }).toEqual({ type, ok: true });
    }
    expect(report.cleanFlaggedRate).toBeLessThanOrEqual(0.01);
  });
});
