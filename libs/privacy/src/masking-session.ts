import { resolveOverlaps, type Detector } from './detector.js';
import { DictionaryMatcher } from './dictionary.js';
import type { Entity, EntityType } from './entity.js';
import { actionFor, type PrivacyMode, type PrivacyProfile } from './profile.js';
import { PlaceholderMapping, type Pseudonymizer } from './pseudonymizer.js';
import { isWordCode } from './text-scan.js';
import { Restorer, type RestoreOptions } from './restorer.js';

/** What a request contained, per entity type; never values. */
export type EntityCounts = Partial<Record<EntityType, number>>;

/**
 * Applies one role profile to every text of one request: detection, per-entity actions, masking, and
 * the restore mapping built from the request's own content. Create one per request.
 */
export class MaskingSession {
  readonly mapping = new PlaceholderMapping();
  /** Entities found, per type (every action except `off`). */
  readonly counts: EntityCounts = {};
  /** Entities replaced by placeholders, per type. */
  readonly masked: EntityCounts = {};
  private readonly strict = new Set<EntityType>();
  private readonly actionCache = new Map<EntityType, PrivacyMode>();

  constructor(
    private readonly detector: Detector,
    private readonly pseudonymizer: Pseudonymizer,
    readonly profile: PrivacyProfile,
    readonly tenant: string,
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
   * Detects and masks every text of a request, in two phases: detection in each text, then every value
   * masked anywhere in the request is masked wherever else it occurs in the request (a name found next to
   * a cue in one message is also masked where the conversation repeats it without the cue, e.g. in an
   * earlier answer the client sends back).
   */
  processAll(texts: readonly string[]): string[] {
    return this.apply(
      texts,
      texts.map((t) => (t.length === 0 ? [] : this.detector.detect(t))),
    );
  }

  /** Like {@link processAll}, including the external recogniser when the detector has one. */
  async processAllAsync(texts: readonly string[]): Promise<string[]> {
    if (!this.detector.hasExternalRecognizer) return this.processAll(texts);
    const found = await Promise.all(
      texts.map((t) => (t.length === 0 ? Promise.resolve([]) : this.detector.detectAsync(t))),
    );
    return this.apply(texts, found);
  }

  /** A restorer for answers to this request. */
  restorer(options?: RestoreOptions): Restorer {
    return new Restorer(this.mapping, options);
  }

  private action(type: EntityType): PrivacyMode {
    let action = this.actionCache.get(type);
    if (action === undefined) {
      action = actionFor(this.profile, type);
      this.actionCache.set(type, action);
    }
    return action;
  }

  private apply(texts: readonly string[], found: Entity[][]): string[] {
    const known = this.knownValues(texts, found);
    const firstTokens = known?.firstTokens();
    return texts.map((text, i) => {
      let entities = found[i]!;
      if (known && mayAddMatches(text, entities, firstTokens!)) {
        const extra = known.match(text);
        if (extra.length > 0) entities = resolveOverlaps([...entities, ...extra]);
      }
      return this.applyOne(text, entities);
    });
  }

  /** A matcher for the values this request masks, or undefined when there are none worth extending. */
  private knownValues(texts: readonly string[], found: Entity[][]): DictionaryMatcher | undefined {
    const terms = new Map<string, { text: string; type: EntityType; score: number }>();
    found.forEach((entities, i) => {
      for (const e of entities) {
        if (e.end - e.start < 3 || this.action(e.type) !== 'mask') continue;
        const value = texts[i]!.slice(e.start, e.end);
        const key = `${e.type}\u0000${value.toLowerCase()}`;
        // Below every detector score: a detection at the same place wins.
        if (!terms.has(key)) terms.set(key, { text: value, type: e.type, score: 0.5 });
      }
    });
    return terms.size === 0 ? undefined : new DictionaryMatcher(terms.values());
  }

  private applyOne(text: string, entities: readonly Entity[]): string {
    if (entities.length === 0) return text;
    const toMask: Entity[] = [];
    for (const e of entities) {
      const action = this.action(e.type);
      if (action === 'off') continue;
      this.counts[e.type] = (this.counts[e.type] ?? 0) + 1;
      if (action === 'strict') this.strict.add(e.type);
      else if (action === 'mask') {
        toMask.push(e);
        this.masked[e.type] = (this.masked[e.type] ?? 0) + 1;
      }
    }
    return this.pseudonymizer.mask(this.tenant, text, toMask, this.mapping);
  }
}

// Outside Latin, Greek and Cyrillic the matcher's case folding and toLowerCase may differ.
const BEYOND_FOLDING = /[\u0530-\uffff]/;

/**
 * Whether the known-values pass could add anything to `entities` (sorted, non-overlapping): only if
 * a term's first token occurs (case-insensitively) somewhere no detection covers. A known-value match
 * that overlaps a detection loses to it (its score is below every detector's), so when every
 * occurrence is covered the pass is skipped; this is the common case, and a 4 KB scan saved.
 */
function mayAddMatches(text: string, entities: readonly Entity[], firstTokens: readonly string[]): boolean {
  if (BEYOND_FOLDING.test(text)) return true;
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return true;
  for (const token of firstTokens) {
    for (let at = lower.indexOf(token); at !== -1; at = lower.indexOf(token, at + 1)) {
      // A match starts at a whole token: not inside a word, not cut short by one ("emp" in "employee").
      const end = at + token.length;
      if (at > 0 && isWordCode(text.charCodeAt(at - 1))) continue;
      if (end < text.length && isWordCode(text.charCodeAt(end))) continue;
      if (!covered(entities, at)) return true;
    }
  }
  return false;
}

/** Whether a detection covers position `at` (binary search over spans sorted by start). */
function covered(entities: readonly Entity[], at: number): boolean {
  let lo = 0;
  let hi = entities.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = entities[mid]!;
    if (at < e.start) hi = mid - 1;
    else if (at >= e.end) lo = mid + 1;
    else return true;
  }
  return false;
}
