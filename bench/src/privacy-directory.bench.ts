import {
  Detector,
  DirectoryIndex,
  preloadNamesLexicon,
  type Directory,
  type PrivacyProfile,
} from '@orgmesh/privacy';
import { benchScale, progress, round } from './harness.js';

/**
 * What a new org directory costs the privacy proxy, for 100,000 people (BENCH_SCALE scales it):
 *
 * - baseline: one detector per profile built from the plain directory, synchronously — what the proxy
 *   did on the first request after every import (each profile paying the whole build again);
 * - now: the directory indexed once in chunks (DirectoryIndex.buildAsync, off the request path), then
 *   one detector per profile on the shared index.
 *
 * Figures: build time, the longest the event loop was blocked meanwhile (what a concurrent request
 * would wait), and the heap kept for PROFILES profiles. Run with --expose-gc for the heap figures.
 */
const PROFILES = 3;
const SYLLABLES = [
  'ka',
  'lo',
  'mer',
  'vin',
  'tha',
  'ros',
  'dal',
  'quen',
  'bri',
  'zor',
  'fen',
  'gal',
  'hul',
  'jor',
  'nim',
  'pav',
];

function directoryOf(people: number): Directory {
  const s = (n: number) => SYLLABLES[n % SYLLABLES.length]!;
  const cap = (word: string) => word[0]!.toUpperCase() + word.slice(1);
  return {
    people: Array.from({ length: people }, (_, k) => {
      const i = k + 1;
      const first = cap(s(i) + s(i >> 4) + 'a');
      const last = cap(s(i >> 8) + s(i >> 12) + s(i >> 16) + 'son');
      return { name: `${first} ${last}`, userId: `u-${String(i).padStart(6, '0')}` };
    }),
  };
}

const profiles: PrivacyProfile[] = Array.from(
  { length: PROFILES },
  (_, i) =>
    ({ mode: 'mask', names: i === 0 ? false : undefined, denyList: [`Project ${i}`] }) as PrivacyProfile,
);

function heapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

/** Runs `work`, measuring its time and the longest the event loop went without a turn meanwhile. */
async function measured<T>(
  work: () => Promise<T> | T,
): Promise<{ value: T; ms: number; maxStallMs: number }> {
  let lastTurn = performance.now();
  let maxStallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - lastTurn);
    lastTurn = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  lastTurn = performance.now();
  const started = performance.now();
  const value = await work();
  const ms = performance.now() - started;
  // A turn after the work, so that a stall at its very end is seen too.
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(ticker);
  return { value, ms, maxStallMs };
}

export async function run(): Promise<Record<string, number>> {
  const people = Math.round(100_000 * benchScale());
  preloadNamesLexicon();
  const directory = directoryOf(people);
  const figures: Record<string, number> = { people, profiles: PROFILES };

  let heap = heapMb();
  const baseline = await measured(() => profiles.map((p) => Detector.forProfile(p, directory)));
  figures['baselineBuildMs'] = round(baseline.ms);
  figures['baselineFirstProfileMs'] = round(baseline.ms / PROFILES);
  figures['baselineMaxStallMs'] = round(baseline.maxStallMs);
  figures['baselineHeapMb'] = round(heapMb() - heap);
  progress(`privacy-directory: baseline ${JSON.stringify(figures)}`);
  baseline.value.length = 0;

  heap = heapMb();
  const indexed = await measured(() => DirectoryIndex.buildAsync(directory));
  const detectors = await measured(() => profiles.map((p) => Detector.forProfile(p, indexed.value)));
  figures['indexBuildMs'] = round(indexed.ms);
  figures['indexMaxStallMs'] = round(indexed.maxStallMs);
  figures['detectorsOnIndexMs'] = round(detectors.ms);
  figures['indexedHeapMb'] = round(heapMb() - heap);
  // Both find the last person; a guard that the figures compare like with like.
  const last = directory.people[people - 1]!.name;
  if (detectors.value[0]!.detect(`Ask ${last} now.`).length !== 1)
    throw new Error('the indexed detector missed a name');
  progress(`privacy-directory: ${JSON.stringify(figures)}`);
  return figures;
}
