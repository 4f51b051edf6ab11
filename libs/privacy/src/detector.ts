import { AppError } from '@orgmesh/contracts';
import { builtinHits } from './builtin-scan.js';
import { DictionaryMatcher, type DictionaryTerm } from './dictionary.js';
import { DirectoryIndex, directoryTerms } from './directory-index.js';
import type { Entity, EntityType } from './entity.js';
import { foldInlineCase } from './case-fold.js';
import { normalizeForDetection, normalizeNothing, type NormalizedText } from './normalize.js';
import { nameRecognizer } from './names.js';
import { isSortedByStart, mergeByStart, resolveOverlaps, toOriginal, type Hit } from './spans.js';
import type { CustomPattern, PrivacyProfile } from './profile.js';

export { resolveOverlaps, toOriginal } from './spans.js';

/** A person of the org chart, as the registry's directory lists them. */
export interface DirectoryPerson {
  readonly name: string;
  readonly email?: string;
  /** The org chart's user id; matched as an employee id when it contains a digit. */
  readonly userId?: string;
}

export interface Directory {
  readonly people: readonly DirectoryPerson[];
}

/** What an external NER endpoint reports for one text. */
export interface NerEntity {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly score: number;
}

/** An optional external named-entity recogniser (e.g. an HTTP model). It must not throw for ordinary text. */
export type NerHook = (text: string) => Promise<readonly NerEntity[]>;

/**
 * A synchronous, in-process recogniser run by `detect` on the normalised text, next to the built-in
 * rules (e.g. people's names found by an NLP library). Spans are in the text it is given; they may
 * come in any order and overlap, the detector resolves them with everything else.
 */
export type Recognizer = (text: string) => readonly NerEntity[];

export interface DetectorOptions {
  /** The org chart, or its {@link DirectoryIndex} built once and shared by the detectors of every profile. */
  readonly directory?: Directory | DirectoryIndex;
  readonly customPatterns?: readonly CustomPattern[];
  readonly denyList?: readonly string[];
  readonly employeeIdPattern?: string | null;
  readonly ner?: NerHook;
  /** In-process recognisers run on every text (see {@link Recognizer}). */
  readonly recognizers?: readonly Recognizer[];
  /** Entities scored below this are dropped (default 0). */
  readonly minScore?: number;
  /**
   * Read a normalised copy of the text (normalize.ts: NFKC, invisible characters, homoglyphs, escapes)
   * and report spans of the original. Default true; off only to measure what it costs.
   */
  readonly normalize?: boolean;
}

export interface DetectOptions {
  /** Include each entity's matched text (only for callers entitled to see it). */
  readonly includeText?: boolean;
  /**
   * Whether to normalise this text first (default: the detector's setting). False for text that is
   * already the output of {@link normalizeForDetection}, as the masking session passes it.
   */
  readonly normalize?: boolean;
}

/**
 * Finds personal data in text: one pass of a precompiled alternation for the built-in types, checksums
 * and context checks in code, a dictionary pass for the org chart and deny-list, and the profile's
 * custom patterns. Overlaps are resolved deterministically (see {@link resolveOverlaps}).
 * Construct once per profile and directory; `detect` is synchronous and allocation-light.
 */
export class Detector {
  private readonly dictionary: DictionaryMatcher;
  /** The directory's terms when they come from a shared {@link DirectoryIndex} (then `dictionary` holds the deny list only). */
  private readonly directoryDictionary: DictionaryMatcher | undefined;
  private readonly custom: ReadonlyArray<{ type: EntityType; re: RegExp; score: number }>;
  private readonly ner: NerHook | undefined;
  private readonly recognizers: readonly Recognizer[];
  private readonly minScore: number;
  /** Whether `detect` reads a normalised copy of its text (see {@link DetectorOptions.normalize}). */
  readonly normalizes: boolean;

  constructor(options: DetectorOptions = {}) {
    this.normalizes = options.normalize ?? true;
    // Terms are normalised like the texts they are looked up in (NBSP, full-width letters, …).
    const norm = (term: string) => (this.normalizes ? normalizeForDetection(term).text : term);
    const terms: DictionaryTerm[] = [];
    const directory = options.directory;
    if (directory instanceof DirectoryIndex) {
      if (directory.normalized !== this.normalizes)
        throw new AppError('internal', 'a directory index serves only detectors that normalise as it did');
      this.directoryDictionary = directory.dictionary;
    } else {
      this.directoryDictionary = undefined;
      for (const person of directory?.people ?? []) terms.push(...directoryTerms(person, this.normalizes));
    }
    for (const term of options.denyList ?? [])
      terms.push({ text: norm(term), type: 'deny_list', score: 0.99 });
    this.dictionary = new DictionaryMatcher(terms);

    const custom: Array<{ type: EntityType; re: RegExp; score: number }> = [];
    for (const pattern of options.customPatterns ?? []) {
      custom.push({
        type: pattern.name,
        re: compileUserPattern(pattern.pattern, pattern.flags, `customPatterns.${pattern.name}`),
        score: 0.9,
      });
    }
    if (options.employeeIdPattern) {
      const re = compileUserPattern(
        `(?<![A-Za-z0-9])(?:${options.employeeIdPattern})(?![A-Za-z0-9])`,
        '',
        'employeeIdPattern',
      );
      custom.push({ type: 'employee_id', re, score: 0.9 });
    }
    this.custom = custom;
    this.ner = options.ner;
    this.recognizers = options.recognizers ?? [];
    this.minScore = options.minScore ?? 0;
  }

  /** Builds a detector for a role profile and the org's directory. */
  static forProfile(
    profile: PrivacyProfile,
    directory?: Directory | DirectoryIndex,
    ner?: NerHook,
    extra: Pick<DetectorOptions, 'recognizers' | 'normalize'> = {},
  ): Detector {
    // People's names outside the directory (names.ts), unless the profile switches them off; the
    // directory's names with other case, accents or hyphens in any case.
    const freeText = profile.names !== false;
    const names =
      directory instanceof DirectoryIndex
        ? freeText || directory.peopleCount > 0
          ? [nameRecognizer(directory.names, { freeText })]
          : []
        : freeText || (directory?.people.length ?? 0) > 0
          ? [nameRecognizer(directory, { freeText })]
          : [];
    return new Detector({
      directory,
      customPatterns: profile.customPatterns,
      denyList: profile.denyList,
      employeeIdPattern: profile.employeeIdPattern,
      minScore: profile.minScore,
      ner,
      ...extra,
      recognizers: [...(extra.recognizers ?? []), ...names],
    });
  }

  /** The text as this detector's rules read it, with the map back to the original's offsets. */
  prepare(text: string): NormalizedText {
    return this.normalizes ? normalizeForDetection(text) : normalizeNothing(text);
  }

  get hasExternalRecognizer(): boolean {
    return this.ner !== undefined;
  }

  /**
   * Built-in, dictionary, custom and recogniser detection; sorted by start, non-overlapping, in offsets
   * of `text` (a normalised value is reported as the whole original span it came from).
   */
  detect(text: string, options: DetectOptions = {}): Entity[] {
    const prepared = (options.normalize ?? this.normalizes) ? normalizeForDetection(text) : undefined;
    const found = prepared ? toOriginal(prepared, this.detectIn(prepared.text)) : this.detectIn(text);
    return options.includeText ? withText(text, found) : found;
  }

  private detectIn(text: string): Entity[] {
    // Each source yields hits in text order; merging keeps resolveOverlaps linear (no sort).
    let hits = builtinHits(text);
    // An address's local part is found by backing up from '@', so it can start before the previous hit.
    if (!isSortedByStart(hits)) hits.sort((a, b) => a.start - b.start || a.end - b.end);
    const dictionary = this.dictionary.match(text);
    if (dictionary.length > 0) hits = mergeByStart(hits, dictionary);
    // A shared directory's matches may overlap the deny list's: resolveOverlaps decides, as for any hit.
    const people = this.directoryDictionary?.match(text);
    if (people && people.length > 0) hits = mergeByStart(hits, people);
    for (const { type, re, score } of this.custom) {
      const found: Hit[] = [];
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        found.push({ type, start: m.index, end: m.index + m[0].length, score });
      }
      if (found.length > 0) hits = mergeByStart(hits, found);
    }
    for (const recognizer of this.recognizers) {
      const found = validHits(text, recognizer(text));
      if (found.length === 0) continue;
      if (!isSortedByStart(found)) found.sort((a, b) => a.start - b.start || a.end - b.end);
      hits = mergeByStart(hits, found);
    }
    return finish(hits, this.minScore, true);
  }

  /** `detect` plus the external recogniser (on the same text), when one is configured. */
  async detectAsync(text: string, options: DetectOptions = {}): Promise<Entity[]> {
    if (!this.ner) return this.detect(text, options);
    const [local, external] = [this.detect(text, { normalize: options.normalize }), await this.ner(text)];
    const hits: Hit[] = local.map((e) => ({ type: e.type, start: e.start, end: e.end, score: e.score }));
    hits.push(...validHits(text, external));
    const kept = finish(hits, this.minScore);
    return options.includeText ? withText(text, kept) : kept;
  }
}

/** Spans of an external or in-process recogniser that fit the text, with normalised types and scores. */
function validHits(text: string, found: readonly NerEntity[]): Hit[] {
  const hits: Hit[] = [];
  for (const e of found) {
    if (
      !Number.isInteger(e.start) ||
      !Number.isInteger(e.end) ||
      e.start < 0 ||
      e.end > text.length ||
      e.end <= e.start
    )
      continue;
    hits.push({
      type: normaliseType(e.type),
      start: e.start,
      end: e.end,
      score: Math.min(1, Math.max(0, e.score)),
    });
  }
  return hits;
}

function finish(hits: Hit[], minScore: number, sorted = false): Entity[] {
  return resolveOverlaps(minScore > 0 ? hits.filter((h) => h.score >= minScore) : hits, sorted);
}

function withText(text: string, entities: Entity[]): Entity[] {
  return entities.map((e) => ({ ...e, text: text.slice(e.start, e.end) }));
}

const NER_TYPES: Record<string, EntityType> = {
  per: 'person',
  person: 'person',
  email: 'email',
  email_address: 'email',
  phone: 'phone',
  phone_number: 'phone',
  us_ssn: 'ssn',
  ssn: 'ssn',
  credit_card: 'credit_card',
  iban: 'iban',
  iban_code: 'iban',
  ip_address: 'ip_address',
};

function normaliseType(type: string): EntityType {
  const key = type.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  return NER_TYPES[key] ?? key;
}

/** A profile's pattern with its (?i:…) groups folded (case-fold.ts), or as written when they cannot be. */
function foldWhenPossible(source: string): string {
  try {
    return foldInlineCase(source);
  } catch {
    return source;
  }
}

function compileUserPattern(source: string, flags: string | undefined, key: string): RegExp {
  try {
    return new RegExp(foldWhenPossible(source), `g${(flags ?? '').replace(/g/g, '')}`);
  } catch (cause) {
    throw new AppError('validation_failed', `invalid regular expression in ${key}`, {
      cause,
      details: { key },
    });
  }
}
