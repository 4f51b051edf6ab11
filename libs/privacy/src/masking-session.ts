import { AppError } from '@orgmesh/contracts';
import type { DetectionMemo } from './detection-memo.js';
import { resolveOverlaps, toOriginal, type Detector } from './detector.js';
import { DictionaryMatcher } from './dictionary.js';
import type { Entity, EntityType } from './entity.js';
import type { NormalizedText } from './normalize.js';
import { actionFor, type PrivacyMode, type PrivacyProfile } from './profile.js';
import { PlaceholderMapping, type Pseudonymizer } from './pseudonymizer.js';
import { Restorer, type RestoreOptions } from './restorer.js';
import { seamSpans, type SeamPiece, type Span } from './seams.js';

/** What a request contained, per entity type; never values. */
export type EntityCounts = Partial<Record<EntityType, number>>;

/**
 * How much one request may ask of the detector. Past it the request is refused
 * (`payload_too_large`, HTTP 413) before or while it is scanned, rather than stalling a replica.
 */
export interface ProcessingBudget {
  /** Characters (UTF-16 code units) of all scanned texts of one request together. */
  readonly maxChars?: number;
  /** Values found in one request (every entity, whatever the action). */
  readonly maxValues?: number;
}

/**
 * Applies one role profile to every text of one request: normalisation, detection (also of values
 * split across consecutive texts), per-entity actions, masking, and the restore mapping built from
 * the request's own content. Create one per request.
 *
 * Cost is linear in the request: each text is normalised and scanned once, the seams between
 * consecutive texts once more in small windows, and the values found are looked up again in one
 * token pass per text (a trie, not one search per value).
 */
export class MaskingSession {
  readonly mapping = new PlaceholderMapping();
  /** Entities found, per type (every action except `off`). */
  readonly counts: EntityCounts = {};
  /** Entities replaced by placeholders, per type. */
  readonly masked: EntityCounts = {};
  /**
   * Work done so far, in characters normalised and scanned plus the known-values matcher's token
   * comparisons: a count that grows with the request and lets tests check it grows linearly.
   */
  work = 0;
  private readonly strict = new Set<EntityType>();
  private readonly actionCache = new Map<EntityType, PrivacyMode>();

  constructor(
    private readonly detector: Detector,
    private readonly pseudonymizer: Pseudonymizer,
    readonly profile: PrivacyProfile,
    readonly tenant: string,
    private readonly budget: ProcessingBudget = {},
    /** Detection results of texts seen before (a conversation's history, sent again each turn). */
    private readonly memo?: DetectionMemo,
  ) {}

  /** Entity types whose action is `strict` and that occurred; the request must be refused when non-empty. */
  get strictTypes(): EntityType[] {
    return [...this.strict].sort();
  }

  get total(): number {
    let n = 0;
    for (const v of Object.values(this.counts)) n += v ?? 0;
    return n;
  }

  /** Detects and masks one text synchronously (no external recogniser). */
  process(text: string): string {
    return this.processAll([text])[0]!;
  }

  /**
   * Detects and masks every text of a request, in two phases: detection in each text and across the
   * seams between consecutive texts, then every value masked anywhere in the request is masked
   * wherever else it occurs in the request (a name found next to a cue in one message is also masked
   * where the conversation repeats it without the cue, e.g. in an earlier answer the client sends
   * back). Texts are in request order: a value split over consecutive texts (`"My SSN is 512-44-"`,
   * `"7391"`) has each piece replaced by the placeholder of the whole value.
   *
   * @throws AppError `payload_too_large` past the session's {@link ProcessingBudget}.
   */
  processAll(texts: readonly string[]): string[] {
    const prepared = this.prepare(texts);
    const found = prepared.map((p) => this.detectPrepared(p.text));
    return this.apply(texts, prepared, found);
  }

  /** The detector's findings in one prepared text, from the memo when the session has one. */
  private detectPrepared(text: string): readonly Entity[] {
    if (text.length === 0) return [];
    return this.memo ? this.memo.detect(this.detector, text) : this.detector.detect(text, NORMALISED);
  }

  /** Like {@link processAll}, including the external recogniser when the detector has one. */
  async processAllAsync(texts: readonly string[]): Promise<string[]> {
    if (!this.detector.hasExternalRecognizer) return this.processAll(texts);
    const prepared = this.prepare(texts);
    const found = await Promise.all(
      prepared.map((p) =>
        p.text.length === 0 ? Promise.resolve([]) : this.detector.detectAsync(p.text, NORMALISED),
      ),
    );
    return this.apply(texts, prepared, found);
  }

  /** A restorer for answers to this request. */
  restorer(options?: RestoreOptions): Restorer {
    return new Restorer(this.mapping, options);
  }

  private prepare(texts: readonly string[]): NormalizedText[] {
    let chars = 0;
    for (const text of texts) chars += text.length;
    const max = this.budget.maxChars;
    if (max !== undefined && chars > max)
      throw new AppError(
        'payload_too_large',
        `the request holds ${chars} characters of text to scan; the processing budget is ${max}`,
        { details: { budget: 'chars', limit: max } },
      );
    this.work += chars;
    return texts.map((t) => this.detector.prepare(t));
  }

  private action(type: EntityType): PrivacyMode {
    let action = this.actionCache.get(type);
    if (action === undefined) {
      action = actionFor(this.profile, type);
      this.actionCache.set(type, action);
    }
    return action;
  }

  private apply(
    texts: readonly string[],
    prepared: NormalizedText[],
    found: ReadonlyArray<readonly Entity[]>,
  ): string[] {
    let values = 0;
    for (const list of found) values += list.length;
    this.checkValues(values);
    const seams = seamSpans(
      prepared.map((p) => p.text),
      // Normalised again: an escape or a sequence cut by the seam ("%4" | "0") is whole only here.
      (window) => this.detector.detect(window),
    );
    this.work += seams.scanned;
    // Spans per text in normalised offsets: detections, then pieces of values found across seams.
    const pieces: Span[][] = found.map((_, i) =>
      (seams.byText[i] ?? []).filter((e) => e.group !== undefined),
    );
    const spans: Array<readonly Span[]> = found.map((list, i) => {
      const extra = seams.byText[i];
      if (!extra || extra.length === 0) return list;
      const whole = extra.filter((e) => e.group === undefined);
      return withPieces(whole.length > 0 ? resolveOverlaps<Span>([...list, ...whole]) : list, pieces[i]!);
    });
    const wholeValues = this.wholeValues(texts, prepared, seams.groups, found);
    const known = this.knownValues(prepared, spans, wholeValues);
    if (known) {
      for (let i = 0; i < spans.length; i++) {
        const extra = known.match(prepared[i]!.text, spans[i]);
        if (extra.length === 0) continue;
        // Pieces stay whatever a known value's score: a piece may score below the matcher's 0.5.
        spans[i] = withPieces(
          resolveOverlaps<Span>([...spans[i]!.filter((e) => e.group === undefined), ...extra]),
          pieces[i]!,
        );
      }
      this.work += known.comparisons;
    }
    return texts.map((text, i) => this.applyOne(text, toOriginal(prepared[i]!, spans[i]!), wholeValues));
  }

  private checkValues(values: number): void {
    const max = this.budget.maxValues;
    if (max !== undefined && values > max)
      throw new AppError(
        'payload_too_large',
        `the request holds more than ${max} personal values; the processing budget is ${max}`,
        { details: { budget: 'values', limit: max } },
      );
  }

  /**
   * The original value of each value split across texts: its pieces of the original texts, joined.
   *
   * Except where a piece holds a whole value of the same type on its own (`"Please contact"` +
   * `"jane@acme.com"` glue into `contactjane@acme.com`; `"marta.kl"` + `"ein@example.com"` is a split
   * address): whether the glued value is real cannot be told, so each piece is masked as a value of
   * its own — nothing reaches the provider either way, and every placeholder restores exactly what it
   * replaced rather than an address that may never have existed.
   */
  private wholeValues(
    texts: readonly string[],
    prepared: readonly NormalizedText[],
    groups: ReadonlyArray<readonly SeamPiece[]>,
    found: ReadonlyArray<readonly Entity[]>,
  ): Map<number, { original: string; normalised: string }> {
    const out = new Map<number, { original: string; normalised: string }>();
    for (const pieces of groups) {
      const standsAlone = pieces.some((piece) =>
        found[piece.index]!.some(
          (e) => e.type === piece.type && e.start >= piece.start && e.end <= piece.end,
        ),
      );
      if (standsAlone) continue;
      let original = '';
      let normalised = '';
      for (const piece of pieces) {
        const index = piece.index;
        const span = prepared[index]!.toOriginal(piece.start, piece.end);
        original += texts[index]!.slice(span.start, span.end);
        normalised += prepared[index]!.text.slice(piece.start, piece.end);
      }
      out.set(pieces[0]!.group, { original, normalised });
    }
    return out;
  }

  /** A matcher for the values this request masks, or undefined when there are none. */
  private knownValues(
    prepared: readonly NormalizedText[],
    spans: ReadonlyArray<readonly Span[]>,
    wholeValues: ReadonlyMap<number, { normalised: string }>,
  ): DictionaryMatcher | undefined {
    const terms = new Map<string, { text: string; type: EntityType; score: number }>();
    spans.forEach((list, i) => {
      for (const e of list) {
        if (e.end - e.start < 3 && !(e.group !== undefined && wholeValues.has(e.group))) continue;
        if (this.action(e.type) !== 'mask' || CONTEXT_FREE.has(e.type)) continue;
        const whole = e.group !== undefined ? wholeValues.get(e.group) : undefined;
        const value = whole ? whole.normalised : prepared[i]!.text.slice(e.start, e.end);
        if (value.length < 3) continue;
        const key = `${e.type}\u0000${value.toLowerCase()}`;
        // Below every detector score: a detection at the same place wins.
        if (!terms.has(key)) terms.set(key, { text: value, type: e.type, score: 0.5 });
      }
    });
    return terms.size === 0 ? undefined : new DictionaryMatcher(terms.values());
  }

  private applyOne(
    text: string,
    spans: readonly Span[],
    wholeValues: ReadonlyMap<number, { original: string }>,
  ): string {
    if (spans.length === 0) return text;
    const parts: string[] = [];
    let cursor = 0;
    for (const e of spans) {
      const action = this.action(e.type);
      if (action === 'off') continue;
      // A split value counts once, at its first piece.
      if (!e.continuation) {
        this.counts[e.type] = (this.counts[e.type] ?? 0) + 1;
        if (action === 'mask') this.masked[e.type] = (this.masked[e.type] ?? 0) + 1;
      }
      if (action === 'strict') this.strict.add(e.type);
      // Spans are disjoint; should two ever overlap, the later one keeps only what is not masked yet.
      if (action !== 'mask' || e.end <= cursor) continue;
      const start = Math.max(e.start, cursor);
      const whole = e.group !== undefined ? wholeValues.get(e.group) : undefined;
      const value = whole ? whole.original : text.slice(start, e.end);
      parts.push(
        text.slice(cursor, start),
        this.pseudonymizer.placeholder(this.tenant, e.type, value, this.mapping),
      );
      cursor = e.end;
    }
    if (cursor === 0) return text;
    parts.push(text.slice(cursor));
    return parts.join('');
  }
}

/**
 * Types the detector finds by their shape alone, wherever they stand (an address, a card, an IBAN,
 * an IP address): looking their values up again cannot find more, so they stay out of the
 * known-values pass (in a dense request, half of its work).
 */
const CONTEXT_FREE: ReadonlySet<EntityType> = new Set(['email', 'credit_card', 'iban', 'ip_address']);

/** Texts of a session are normalised once, by the session; the detector must not do it again. */
const NORMALISED = { normalize: false } as const;

/**
 * Inserts the pieces of split values into a text's sorted, disjoint spans. A piece always stays, and
 * a span it overlaps keeps only what lies outside it: neither a piece nor the rest of a value found in
 * the text alone may reach the provider, whichever reading was right.
 */
function withPieces(spans: readonly Span[], pieces: readonly Span[]): Span[] {
  if (pieces.length === 0) return [...spans];
  // Two passes over the seams can report one value twice: the first of overlapping pieces stays
  // whole, a later one keeps only what lies beyond it.
  const sorted: Span[] = [];
  for (const piece of [...pieces].sort((a, b) => a.start - b.start || a.group! - b.group!)) {
    const last = sorted[sorted.length - 1];
    if (!last || piece.start >= last.end) sorted.push(piece);
    else if (piece.end > last.end) sorted.push({ ...piece, start: last.end });
  }
  const out: Span[] = [];
  let p = 0;
  let coveredUntil = 0;
  for (const span of spans) {
    let start = Math.max(span.start, coveredUntil);
    while (p < sorted.length && sorted[p]!.start < span.end) {
      const piece = sorted[p++]!;
      if (piece.start > start) out.push({ ...span, start, end: piece.start });
      start = Math.max(start, piece.end);
      coveredUntil = Math.max(coveredUntil, piece.end);
      out.push(piece);
    }
    if (start < span.end) out.push(start === span.start ? span : { ...span, start });
  }
  while (p < sorted.length) out.push(sorted[p++]!);
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}
