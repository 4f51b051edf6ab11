import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector, PrivacyProfileSchema, type Directory, type Entity } from '../src/index.js';

export const CORPUS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus');

/** One corpus line: the text and its labelled values (every occurrence of a value is labelled). */
export interface CorpusLine {
  readonly text: string;
  readonly entities: ReadonlyArray<readonly [string, string]>;
}

export interface TypeScore {
  type: string;
  gold: number;
  found: number;
  predicted: number;
  correct: number;
  precision: number;
  recall: number;
}

export interface QualityReport {
  piiLines: number;
  cleanLines: number;
  cleanLinesFlagged: number;
  cleanFlaggedRate: number;
  byType: TypeScore[];
  misses: Array<{ type: string; line: string }>;
  falsePositives: Array<{ type: string; value: string; line: string }>;
}

export function loadCorpus(file: string): CorpusLine[] {
  return readFileSync(join(CORPUS_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as CorpusLine);
}

export function corpusDetector(): Detector {
  const raw = JSON.parse(readFileSync(join(CORPUS_DIR, 'directory.json'), 'utf8')) as Directory & { profile: unknown };
  return Detector.forProfile(PrivacyProfileSchema.parse(raw.profile), { people: raw.people });
}

function goldSpans(line: CorpusLine): Array<{ type: string; start: number; end: number }> {
  const spans: Array<{ type: string; start: number; end: number }> = [];
  for (const [type, value] of line.entities) {
    let from = 0;
    let found = false;
    for (let at = line.text.indexOf(value, from); at !== -1; at = line.text.indexOf(value, from)) {
      spans.push({ type, start: at, end: at + value.length });
      from = at + value.length;
      found = true;
    }
    if (!found) throw new Error(`corpus label not found in its line: ${type}`);
  }
  return spans;
}

/**
 * Recall: a labelled value counts as found when an entity of the same type covers it entirely (a
 * partial hit would leave part of the value unmasked). Precision: an entity is correct when it overlaps
 * a labelled value of its type.
 */
export function evaluate(detector: Detector, pii: CorpusLine[], clean: CorpusLine[]): QualityReport {
  const stats = new Map<string, { gold: number; found: number; predicted: number; correct: number }>();
  const stat = (type: string) => {
    let s = stats.get(type);
    if (!s) stats.set(type, (s = { gold: 0, found: 0, predicted: 0, correct: 0 }));
    return s;
  };
  const misses: QualityReport['misses'] = [];
  const falsePositives: QualityReport['falsePositives'] = [];
  const score = (line: CorpusLine, predicted: Entity[]) => {
    const gold = goldSpans(line);
    for (const g of gold) {
      const s = stat(g.type);
      s.gold++;
      if (predicted.some((p) => p.type === g.type && p.start <= g.start && p.end >= g.end)) s.found++;
      else misses.push({ type: g.type, line: line.text });
    }
    for (const p of predicted) {
      const s = stat(p.type);
      s.predicted++;
      if (gold.some((g) => g.type === p.type && p.start < g.end && g.start < p.end)) s.correct++;
      else falsePositives.push({ type: p.type, value: line.text.slice(p.start, p.end), line: line.text });
    }
  };
  for (const line of pii) score(line, detector.detect(line.text));
  let flagged = 0;
  for (const line of clean) {
    const predicted = detector.detect(line.text);
    if (predicted.length > 0) flagged++;
    score(line, predicted);
  }
  const byType = [...stats.entries()]
    .map(([type, s]) => ({
      type,
      ...s,
      precision: s.predicted === 0 ? 1 : s.correct / s.predicted,
      recall: s.gold === 0 ? 1 : s.found / s.gold,
    }))
    .sort((a, b) => a.type.localeCompare(b.type));
  return {
    piiLines: pii.length,
    cleanLines: clean.length,
    cleanLinesFlagged: flagged,
    cleanFlaggedRate: clean.length === 0 ? 0 : flagged / clean.length,
    byType,
    misses,
    falsePositives,
  };
}

/**
 * Detection throughput over the corpus text, repeated to about `bytes`, in MB (10^6 bytes) per second
 * of this thread's CPU time (so that other processes on the machine do not distort it).
 */
export function measureThroughput(detector: Detector, lines: CorpusLine[], bytes = 4_000_000): number {
  const block = lines.map((l) => l.text).join('\n');
  // A flat string, as JSON.parse produces: repeat() makes a rope, which is slower to index.
  const text = Buffer.from(block.repeat(Math.max(1, Math.ceil(bytes / Buffer.byteLength(block))))).toString();
  const size = Buffer.byteLength(text);
  for (let warm = 0; warm < 3; warm++) detector.detect(text);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    detector.detect(text);
    best = Math.min(best, process.cpuUsage(before).user / 1e6);
  }
  return size / 1e6 / best;
}

const pct = (x: number) => (x * 100).toFixed(1);

export function renderReport(report: QualityReport, mbPerSecond: number): string {
  const rows = report.byType.map(
    (t) => `| ${t.type} | ${t.gold} | ${t.found} | ${t.predicted} | ${t.correct} | ${t.precision.toFixed(3)} | ${t.recall.toFixed(3)} |`,
  );
  const misses = report.misses.map((m) => `- ${m.type}: ${JSON.stringify(m.line)}`);
  const fps = report.falsePositives.map((f) => `- ${f.type} ${JSON.stringify(f.value)} in ${JSON.stringify(f.line)}`);
  return [
    '# Detection quality report',
    '',
    'Generated by `libs/privacy/test/corpus-quality.spec.ts` from the hand-written corpus in this folder',
    '(`pii.jsonl`, `clean.jsonl`, with the org-chart directory and profile of `directory.json`). Do not edit by hand.',
    '',
    `- PII lines: ${report.piiLines}; clean lines: ${report.cleanLines}`,
    `- Clean lines flagged: ${report.cleanLinesFlagged} (${pct(report.cleanFlaggedRate)} %; target ≤ 1 %)`,
    `- Detection throughput on this corpus (MB per CPU-second of one core, best of 3 over ~4 MB; every line is dense with numbers and PII): ${mbPerSecond.toFixed(1)} MB/s`,
    '',
    'Recall counts a labelled value as found only when an entity of the same type covers all of it;',
    'precision counts an entity as correct when it overlaps a labelled value of its type.',
    'Targets: recall ≥ 0.99 for email, ssn, credit_card, iban, ip_address, phone.',
    '',
    '| type | labelled | found | predicted | correct | precision | recall |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '## Missed labelled values',
    '',
    ...(misses.length ? misses : ['(none)']),
    '',
    '## False positives',
    '',
    ...(fps.length ? fps : ['(none)']),
    '',
  ].join('\n');
}
