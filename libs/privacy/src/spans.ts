import type { EntityType } from './entity.js';
import type { NormalizedText } from './normalize.js';

// Span resolution for the detector: its sources' hits merged in text order, overlaps resolved, and
// spans of the normalised text mapped back to the original.

/** A span one of the detector's sources found, before overlaps are resolved. */
export interface Hit {
  type: EntityType;
  start: number;
  end: number;
  score: number;
}

/**
 * Spans of a normalised text as spans of its original, kept sorted and disjoint: when two spans meet
 * inside one expanded character, the later one starts after the earlier (which already covers it).
 */
export function toOriginal<T extends { start: number; end: number }>(
  prepared: NormalizedText,
  spans: T[],
): T[];
export function toOriginal<T extends { start: number; end: number }>(
  prepared: NormalizedText,
  spans: readonly T[],
): readonly T[];
export function toOriginal<T extends { start: number; end: number }>(
  prepared: NormalizedText,
  spans: readonly T[],
): readonly T[] {
  // Offsets that are the original's already: the same spans (readonly in, readonly out).
  if (prepared.sameOffsets) return spans;
  const out: T[] = [];
  let previousEnd = 0;
  for (const span of spans) {
    const mapped = prepared.toOriginal(span.start, span.end);
    const start = Math.max(mapped.start, previousEnd);
    if (start >= mapped.end) continue;
    out.push({ ...span, start, end: mapped.end });
    previousEnd = mapped.end;
  }
  return out;
}

/**
 * Deterministic overlap resolution: higher score first, then the longer span, then the earlier start,
 * then the type name; a hit is kept when it overlaps none kept before. Output is sorted by start.
 */
export function resolveOverlaps<T extends { type: EntityType; start: number; end: number; score: number }>(
  hits: T[],
  sortedByStart = false,
): T[] {
  if (hits.length <= 1) return hits;
  const byStart = sortedByStart ? hits : [...hits].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: T[] = [];
  // Hits in different clusters of transitively overlapping spans cannot conflict, so the greedy choice
  // runs per cluster: linear overall for the usual mostly-disjoint input.
  let cluster: T[] = [];
  let clusterEnd = -1;
  const flush = () => {
    if (cluster.length === 1) out.push(cluster[0]!);
    else if (cluster.length > 1) out.push(...greedy(cluster));
    cluster = [];
  };
  for (const hit of byStart) {
    if (hit.start >= clusterEnd) flush();
    cluster.push(hit);
    clusterEnd = Math.max(clusterEnd, hit.end);
  }
  flush();
  return out;
}

export function isSortedByStart(hits: readonly Hit[]): boolean {
  for (let i = 1; i < hits.length; i++) if (hits[i]!.start < hits[i - 1]!.start) return false;
  return true;
}

/** Merges two lists sorted by start into one (stable: `a` first on ties). */
export function mergeByStart<T extends { start: number; end: number }>(a: T[], b: readonly T[]): T[] {
  const out: T[] = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length)
    out[k++] =
      b[j]!.start < a[i]!.start || (b[j]!.start === a[i]!.start && b[j]!.end < a[i]!.end) ? b[j++]! : a[i++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

function greedy<T extends { type: EntityType; start: number; end: number; score: number }>(hits: T[]): T[] {
  const ranked = [...hits].sort(
    (a, b) =>
      b.score - a.score ||
      b.end - b.start - (a.end - a.start) ||
      a.start - b.start ||
      (a.type < b.type ? -1 : a.type > b.type ? 1 : 0),
  );
  const kept: T[] = [];
  for (const hit of ranked) {
    if (!kept.some((k) => hit.start < k.end && k.start < hit.end)) kept.push(hit);
  }
  return kept.sort((a, b) => a.start - b.start || a.end - b.end);
}
