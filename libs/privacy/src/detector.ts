import { AppError } from '@orgmesh/contracts';
import { cardIssuerPlausible, ibanValid, IBAN_LENGTHS, ipv6Valid, luhnValid, ssnValid } from './checksums.js';
import { DictionaryMatcher, type DictionaryTerm } from './dictionary.js';
import { DirectoryIndex, directoryTerms } from './directory-index.js';
import type { Entity, EntityType } from './entity.js';
import { foldInlineCase } from './case-fold.js';
import { normalizeForDetection, normalizeNothing, type NormalizedText } from './normalize.js';
import { nameRecognizer } from './names.js';
import { ALTERNATIVES, NAME } from './patterns.js';
import { equalsLower, hashLower, isWordCode } from './text-scan.js';
import type { CustomPattern, PrivacyProfile } from './profile.js';

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

interface Hit {
  type: EntityType;
  start: number;
  end: number;
  score: number;
}

const STICKY: Readonly<Record<string, RegExp>> = Object.fromEntries(
  // Inline (?i:…) groups are folded into explicit classes: V8 can compile them wrongly (case-fold.ts).
  ALTERNATIVES.map((a) => [a.name, new RegExp(foldInlineCase(a.source), 'uy')]),
);
const ANGLE_NAME = new RegExp(`(?<![\\p{L}])(${NAME})[ ]?<$`, 'u');

/**
 * Words that may start a context-dependent entity, by their lowercase ASCII form, with the
 * alternatives to try at the word, in priority order.
 */
interface Cue {
  readonly word: string;
  /** Every alternative of the cue. */
  readonly alternatives: string[];
  /** The same without the name alternatives, for when no capital letter follows the cue. */
  readonly withoutNames: string[];
}
const NAME_ALTERNATIVES = new Set(['title', 'pcue', 'sig']);
const CUES: ReadonlyMap<number, readonly Cue[]> = (() => {
  const map = new Map<number, Cue[]>();
  const add = (alt: string, words: string) => {
    for (const word of words.split(' ')) {
      const key = hashLower(word, 0, word.length);
      const list = map.get(key) ?? [];
      let entry = list.find((e) => e.word === word);
      if (!entry) list.push((entry = { word, alternatives: [], withoutNames: [] }));
      entry.alternatives.push(alt);
      if (!NAME_ALTERNATIVES.has(alt)) entry.withoutNames.push(alt);
      map.set(key, list);
    }
  };
  add('ssnctx', 'ssn social ss');
  add('dob', 'date birth birthdate d dob born birthday geburtsdatum fecha');
  add('acct', 'bank account acct a konto kontonummer routing aba sort bsb');
  add('emp', 'employee staff personnel emp employeeid empid employeeno staffid');
  add('title', 'mr mrs ms miss mx dr prof sir dame herr frau mme mlle sr sra');
  add(
    'pcue',
    'dear hi hello full name employee patient customer client applicant candidate tenant contact attn attention signed prepared ' +
      'approved requested reported submitted assigned spouse beneficiary cardholder account passport policy policyholder holder ' +
      'recipient colleague dependent dependant next guarantor borrower claimant complainant',
  );
  add('sig', 'best kind warm regards sincerely cheers');
  return map;
})();
const NUMERIC_ALTERNATIVES = ['ssn', 'ipv4', 'ipv6', 'numseq'] as const;

// Capitalised words that follow name cues ("Dear Team", "Customer Support") but are not names.
const NOT_NAMES = new Set(
  (
    'team teams all everyone everybody sir sirs madam madame customer customers support service services client clients ' +
    'colleague colleagues hiring manager managers finance legal sales admin board committee department portal handbook ' +
    'account accounts name names number the this that these those our your my his her their its we you he she they it ' +
    'partner partners friends friend members member subscriber subscribers valued applicant applicants candidate candidates ' +
    'patient patients user users reviewer reviewers owner owners world there folks guys people staff employee employees ' +
    'monday tuesday wednesday thursday friday saturday sunday january february march april june july august september october ' +
    'november december success care experience relations record records id information details data portal login please thanks ' +
    'thank note see new old first last full best kind warm regards director officer head lead engineering marketing operations ' +
    'security privacy compliance procurement payroll accounting treasury it hr ops api json http server service request response ' +
    'mr mrs ms miss mx dr prof sir dame herr frau mme mlle sr sra ' +
    'quarterly annual monthly weekly daily planning plan report reports review meeting project projects budget budgets program ' +
    'programme strategy roadmap update updates summary overview agenda minutes policy policies procedure process proposal invoice ' +
    'invoices order orders payment payments contract contracts office offices group holdings bank ltd inc llc corp co company ' +
    'gmbh ag plc bv limited trust fund foundation university school hospital clinic center centre institute association council ' +
    'ministry government agency authority city county state national international global north south east west central general ' +
    'internal external public private digital cloud data systems solutions technologies technology software hardware network ' +
    'platform product products tool tools app application applications desk helpdesk office'
  ).split(' '),
);
const SINGLE_WORD_CUES = new Set(['dear', 'hi', 'hello', 'name', 'full name', 'attn', 'attention']);
const PHONE_CUE =
  /(?:\b(?:phone|telephone|tel|mobile|mob|cell|cellphone|fax|call|ring|sms|text|whatsapp|signal|dial|hotline|landline|ph|reach)\b|☎|📞)[^\n\d]{0,20}$/i;
const VERSION_CUE = /(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\brev(?:ision)?|\boid)[ :]*$/i;
const DATE_SHAPE = /^(?:\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2}))/;

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

/**
 * Spans of a normalised text as spans of its original, kept sorted and disjoint: when two spans meet
 * inside one expanded character, the later one starts after the earlier (which already covers it).
 */
export function toOriginal<T extends { start: number; end: number }>(
  prepared: NormalizedText,
  spans: T[],
): T[] {
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

function isSortedByStart(hits: readonly Hit[]): boolean {
  for (let i = 1; i < hits.length; i++) if (hits[i]!.start < hits[i - 1]!.start) return false;
  return true;
}

/** Merges two lists sorted by start into one (stable: `a` first on ties). */
function mergeByStart<T extends { start: number; end: number }>(a: T[], b: readonly T[]): T[] {
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

function tryAt(alternatives: readonly string[], index: number, text: string): Hit | null {
  for (const name of alternatives) {
    const re = STICKY[name]!;
    re.lastIndex = index;
    const m = re.exec(text);
    if (m) {
      const hit = classify(name, m, text);
      if (hit) return hit;
    }
  }
  return null;
}

// Local copies of the hot character tests: calls into another module are not always inlined (they
// are not under Jest's VM modules, which made the loop ten times slower there).
const isDigit = (c: number) => c >= 48 && c <= 57;
const isAsciiLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isHexLetter = (c: number) => (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

function cueAt(text: string, start: number, end: number, hash: number): Cue | undefined {
  const list = CUES.get(hash);
  if (!list) return undefined;
  for (const entry of list) if (equalsLower(text, start, end, entry.word)) return entry;
  return undefined;
}

/** Whether a capital letter occurs within the next few characters: names only follow cues that way. */
function capitalAhead(text: string, from: number): boolean {
  const limit = Math.min(text.length, from + 24);
  for (let p = from; p < limit; p++) {
    const c = text.charCodeAt(p);
    if ((c >= 65 && c <= 90) || (c >= 0xc0 && isWordCode(c))) return true;
  }
  return false;
}

/** Numeric alternatives worth trying at a digit run, decided from a few characters (no regex). */
function numericCandidates(text: string, i: number): readonly string[] | null {
  const n = text.length;
  let runEnd = i + 1;
  while (runEnd < n && isDigit(text.charCodeAt(runEnd))) runEnd++;
  const run = runEnd - i;
  const next = text.charCodeAt(runEnd);
  if (run < 4 && isHexLetter(next)) {
    // "2a00:1450::" — an IPv6 group that starts with a digit and continues with hex letters.
    let h = runEnd;
    while (h < i + 4 && h < n && (isDigit(text.charCodeAt(h)) || isHexLetter(text.charCodeAt(h)))) h++;
    return text.charCodeAt(h) === 58 ? IPV6_FIRST : null;
  }
  // A lone short number: no separator followed by another group.
  let k = runEnd;
  while (
    k < runEnd + 3 &&
    k < n &&
    (text.charCodeAt(k) === 32 ||
      text.charCodeAt(k) === 47 ||
      text.charCodeAt(k) === 46 ||
      text.charCodeAt(k) === 45)
  )
    k++;
  const more = k > runEnd && (isDigit(text.charCodeAt(k)) || text.charCodeAt(k) === 40);
  if (!more && run < 7 && next !== 58) return null;
  if (next === 58 && run <= 4) return IPV6_FIRST;
  // Phones and cards need at least 7 digits: count the digits of the groups that follow, cheaply.
  let digits = run;
  if (run < 7) {
    for (let p = runEnd; p < n && p < i + 40; p++) {
      const d = text.charCodeAt(p);
      if (isDigit(d)) digits++;
      else if (d !== 32 && d !== 45 && d !== 46 && d !== 47 && d !== 40 && d !== 41) break;
    }
  }
  if (run === 3 && (next === 45 || next === 32)) return digits >= 7 ? NUMERIC_ALTERNATIVES : null;
  if (run <= 3 && next === 46) return digits >= 7 ? IPV4_FIRST : IPV4_ONLY;
  return digits >= 7 ? NUMSEQ_ONLY : null;
}
const IPV4_ONLY = ['ipv4'] as const;
const IBAN_ONLY = ['iban'] as const;
const IPV6_FIRST = ['ipv6', 'numseq'] as const;
const IPV4_FIRST = ['ipv4', 'numseq'] as const;
const NUMSEQ_ONLY = ['numseq'] as const;
const isLocalPart = (c: number) =>
  isAsciiLetter(c) || isDigit(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45 || c === 39;

/**
 * The single pass: a character loop that stops only at triggers (a word that is a cue, the start of a
 * digit run, `@`, `+`, `(`, `[`, `:`, an IBAN-like word) and runs the precompiled sticky pattern(s)
 * of that trigger there. Text between triggers costs one table lookup per character.
 */
function builtinHits(text: string): Hit[] {
  const hits: Hit[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      const candidates = numericCandidates(text, i);
      const hit = (candidates ? tryAt(candidates, i, text) : null) ?? bareSsnAt(text, i);
      if (hit) {
        hits.push(hit);
        i = hit.end;
        continue;
      }
      let j = i + 1;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      i = j;
      continue;
    }
    if (isAsciiLetter(c) || (c >= 0xc0 && isWordCode(c))) {
      // A word: letters and digits.
      let j = i;
      let ascii = true;
      let hexOnly = true;
      let hash = 0;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (isAsciiLetter(d)) {
          hash = ((hash << 5) - hash + (d | 32)) | 0;
          if (!isHexLetter(d)) hexOnly = false;
        } else if (isDigit(d)) {
          hash = ((hash << 5) - hash + d) | 0;
        } else if (d >= 0xc0 && isWordCode(d)) {
          ascii = false;
          hexOnly = false;
        } else break;
        j++;
      }
      let hit: Hit | null = null;
      if (
        j - i >= 4 &&
        isAsciiLetter(c) &&
        isAsciiLetter(text.charCodeAt(i + 1)) &&
        isDigit(text.charCodeAt(i + 2)) &&
        isDigit(text.charCodeAt(i + 3))
      ) {
        hit = tryAt(IBAN_ONLY, i, text);
      }
      if (!hit && ascii && j - i <= 14) {
        const cue = cueAt(text, i, j, hash);
        if (cue) hit = tryAt(capitalAhead(text, j) ? cue.alternatives : cue.withoutNames, i, text);
      }
      if (!hit && hexOnly && j - i <= 4 && text.charCodeAt(j) === 58) hit = tryAt(['ipv6'], i, text);
      if (hit) {
        hits.push(hit);
        i = Math.max(hit.end, i + 1);
        continue;
      }
      i = j;
      continue;
    }
    switch (c) {
      case 64: {
        // '@': back up over the local part, then match the whole address.
        let k = i - 1;
        while (k >= 0 && i - k <= 64 && isLocalPart(text.charCodeAt(k))) k--;
        let from = k + 1;
        while (from < i && !isAsciiLetter(text.charCodeAt(from)) && !isDigit(text.charCodeAt(from))) from++;
        const hit = from < i ? tryAt(['email'], from, text) : null;
        if (hit) {
          // A display name right before "<address>" is a person.
          if (text.charCodeAt(hit.start - 1) === 60) {
            const before = text.slice(Math.max(0, hit.start - 80), hit.start);
            const m = ANGLE_NAME.exec(before);
            if (m?.[1]) {
              const nameStart = hit.start - before.length + m.index;
              const name = nameHitFromWords(m[1], nameStart, 2, 0.8);
              if (name) hits.push(name);
            }
          }
          hits.push(hit);
          i = hit.end;
          continue;
        }
        break;
      }
      case 43: // '+' international phone
      case 40: {
        // '(' area code, or "(at)" of an obfuscated address
        const hit = tryAt(['numseq'], i, text) ?? obfuscatedEmailAt(i, text);
        if (hit) {
          hits.push(hit);
          i = hit.end;
          continue;
        }
        break;
      }
      case 91: // '['
      case 123: // '{'
      case 60: {
        // '<'
        const hit = obfuscatedEmailAt(i, text);
        if (hit) {
          hits.push(hit);
          i = hit.end;
          continue;
        }
        break;
      }
      case 58: {
        // ':' starting a compressed IPv6 address ("::1", "::ffff:192.0.2.1")
        if (text.charCodeAt(i + 1) === 58) {
          const hit = tryAt(['ipv6'], i, text);
          if (hit) {
            hits.push(hit);
            i = hit.end;
            continue;
          }
        }
        break;
      }
    }
    i++;
  }
  return hits;
}

/**
 * A bare nine-digit SSN without a cue ("512447391"). Nine-digit numbers are also order, invoice and
 * routing numbers, so the rules are narrow and documented in the README of libs/privacy: exactly nine
 * digits standing alone (no digit, letter, `-`, `/`, `.`/`,` + digit, `#`, `$`, `€`, `£` or `+` around
 * them) in prose (a word within 40 characters: not a lone value such as a JSON number or an id field), a valid SSA area, group and serial (no 000, 666 or 9xx area, no 00 group, no 0000 serial),
 * not one repeated digit, not the ascending or descending run, not the numbers the SSA voided after
 * they were printed in advertising (078-05-1120, 219-09-9999), and no reference word (order, invoice,
 * ticket, tracking, …) right before it. Scored below the cued forms so any other reading wins.
 */
function bareSsnAt(text: string, i: number): Hit | null {
  const end = i + 9;
  if (end > text.length) return null;
  for (let p = i; p < end; p++) if (!isDigit(text.charCodeAt(p))) return null;
  const before = i > 0 ? text.charCodeAt(i - 1) : 32;
  const after = text.charCodeAt(end);
  if (isWordCode(before)) return null;
  if (BARE_SSN_BLOCKED_BEFORE.has(before)) return null;
  if (!Number.isNaN(after)) {
    if (isWordCode(after)) return null;
    if (BARE_SSN_BLOCKED_AFTER.has(after)) return null;
    if ((after === 46 || after === 44) && isDigit(text.charCodeAt(end + 1))) return null;
  }
  if (!wordNear(text, i, end)) return null;
  const digits = text.slice(i, end);
  if (!ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))) return null;
  if (BARE_SSN_EXCLUDED.has(digits) || /^(\d)\1{8}$/.test(digits)) return null;
  if (BARE_SSN_REFERENCE.test(text.slice(Math.max(0, i - 24), i))) return null;
  return { type: 'ssn', start: i, end, score: 0.6 };
}
/**
 * Whether a word (a letter) stands within 40 characters of `[start, end)`: a bare number in prose.
 * A lone nine-digit value — a JSON number, an id field, a cell — is far more often an identifier.
 */
function wordNear(text: string, start: number, end: number): boolean {
  const from = Math.max(0, start - 40);
  const to = Math.min(text.length, end + 40);
  for (let p = from; p < to; p++) {
    if (p === start) p = end;
    const c = text.charCodeAt(p);
    if (isAsciiLetter(c) || (c >= 0xc0 && isWordCode(c))) return true;
  }
  return false;
}
const BARE_SSN_BLOCKED_BEFORE = new Set([45, 47, 35, 36, 43, 95, 0x20ac, 0xa3, 46, 44, 58]);
const BARE_SSN_BLOCKED_AFTER = new Set([45, 47, 95, 37, 0x20ac]);
const BARE_SSN_EXCLUDED = new Set(['123456789', '987654321', '078051120', '219099999']);
const BARE_SSN_REFERENCE =
  /\b(?:order|invoice|inv|ticket|case|ref|reference|tracking|po|sku|part|build|version|serial|lot|batch|isbn|issn|policy|claim|receipt|transaction|txn|confirmation|booking|shipment|parcel|routing|aba|account|acct|iban|phone|tel|fax|mobile)(?:[\s.:#=-]*(?:number|num|no|nr|id))?[\s.:#=-]*$/i;

/** At an opening bracket: "name [at] domain [dot] com" — back up over the local part and match. */
function obfuscatedEmailAt(i: number, text: string): Hit | null {
  let k = i + 1;
  if (text.charCodeAt(k) === 32) k++;
  if ((text.charCodeAt(k) | 32) !== 97 || (text.charCodeAt(k + 1) | 32) !== 116) return null;
  let s = i - 1;
  if (text.charCodeAt(s) === 32) s--;
  const end = s;
  while (s >= 0 && end - s < 64 && isLocalPart(text.charCodeAt(s))) s--;
  return s + 1 <= end ? tryAt(['emailobf'], s + 1, text) : null;
}

function tail(m: RegExpExecArray, group: string, type: EntityType, score: number): Hit {
  const value = m.groups![group]!;
  const end = m.index + m[0].length;
  return { type, start: end - value.length, end, score };
}

function classify(name: string, m: RegExpExecArray, text: string): Hit | null {
  const start = m.index;
  const value = m[0];
  switch (name) {
    case 'email':
      return { type: 'email', start, end: start + value.length, score: 0.99 };
    case 'emailobf':
      return { type: 'email', start, end: start + value.length, score: 0.9 };
    case 'iban':
      return classifyIban(value, start);
    case 'ssnctx': {
      const digits = m.groups!['ssnctxnum']!.replace(/[ .-]/g, '');
      return ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))
        ? tail(m, 'ssnctxnum', 'ssn', 0.95)
        : null;
    }
    case 'dob':
      return plausibleDate(m.groups!['dobdate']!) ? tail(m, 'dobdate', 'date_of_birth', 0.9) : null;
    case 'acct': {
      const digits = countDigits(m.groups!['acctnum']!);
      return digits >= 6 && digits <= 20 ? tail(m, 'acctnum', 'account_number', 0.85) : null;
    }
    case 'emp':
      return tail(m, 'empid', 'employee_id', 0.9);
    case 'title':
      return nameHit(m, 'titlename', 1, 0.85);
    case 'pcue': {
      const cue = m.groups!['pcueword']!.toLowerCase().replace(/\s+/g, ' ');
      return nameHit(m, 'pcuename', SINGLE_WORD_CUES.has(cue) ? 1 : 2, 0.75);
    }
    case 'sig':
      return nameHit(m, 'signame', 2, 0.75);
    case 'ssn': {
      const sep = m.groups!['ssnsep']!;
      return ssnValid(value.slice(0, 3), value.slice(4, 6), value.slice(7))
        ? { type: 'ssn', start, end: start + value.length, score: sep === '-' ? 0.95 : 0.8 }
        : null;
    }
    case 'ipv4':
      return VERSION_CUE.test(text.slice(Math.max(0, start - 12), start))
        ? null
        : { type: 'ip_address', start, end: start + value.length, score: 0.9 };
    case 'ipv6':
      return classifyIpv6(value, start);
    case 'numseq':
      return classifyNumbers(value, start, text);
    default:
      return null;
  }
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function classifyIban(value: string, start: number): Hit | null {
  const expected = IBAN_LENGTHS[value.slice(0, 2).toUpperCase()];
  if (expected === undefined) return null;
  let compact = '';
  let endOffset = 0;
  for (let i = 0; i < value.length && compact.length < expected; i++) {
    const ch = value[i]!;
    if (ch !== ' ' && ch !== '-') {
      compact += ch;
      endOffset = i + 1;
    }
  }
  if (compact.length !== expected || !ibanValid(compact.toUpperCase())) return null;
  // The IBAN must end at a token boundary, not in the middle of a longer alphanumeric run.
  const next = value[endOffset];
  if (next !== undefined && next !== ' ' && next !== '-') return null;
  return { type: 'iban', start, end: start + endOffset, score: 0.99 };
}

function classifyIpv6(value: string, start: number): Hit | null {
  if (!ipv6Valid(value)) return null;
  const nonEmpty = value.split(/:+/).reduce((n, g) => n + (g.includes('.') ? 2 : g.length > 0 ? 1 : 0), 0);
  return nonEmpty >= 3 ? { type: 'ip_address', start, end: start + value.length, score: 0.9 } : null;
}

function nameHit(m: RegExpExecArray, group: string, minWords: number, score: number): Hit | null {
  const value = m.groups![group]!;
  const end = m.index + m[0].length;
  return nameHitFromWords(value, end - value.length, minWords, score);
}

function nameHitFromWords(value: string, nameStart: number, minWords: number, score: number): Hit | null {
  // Keep the words before the first one that is a known non-name ("Dear Jane Team" → "Jane").
  const words = value.split(' ');
  let kept = 0;
  let length = 0;
  for (const word of words) {
    const bare = word.replace(/[.'’]/g, '').toLowerCase();
    if (NOT_NAMES.has(bare) || NOT_NAMES.has(bare.replace(/s$/, ''))) break;
    length += (kept > 0 ? 1 : 0) + word.length;
    kept++;
  }
  const nameWords = words.slice(0, kept).filter((w) => !/^\p{Lu}\.$/u.test(w)).length;
  if (nameWords < minWords) return null;
  return { type: 'person', start: nameStart, end: nameStart + length, score };
}

function plausibleDate(value: string): boolean {
  const numbers = value.match(/\d+/g)?.map(Number) ?? [];
  if (numbers.length === 3) {
    const [a, b, c] = numbers as [number, number, number];
    if (a > 31) return a >= 1900 && a <= 2100 && b >= 1 && b <= 12 && c >= 1 && c <= 31;
    return a >= 1 && b >= 1 && a <= 31 && b <= 31 && (a <= 12 || b <= 12);
  }
  // Written months: "March 3, 1985", "3rd of March 1985".
  return numbers.length === 2;
}

interface Group {
  start: number;
  end: number;
  digits: string;
  paren: boolean;
}

/** Phone numbers and card numbers: the longest prefix of the digit groups that passes a rule wins. */
function classifyNumbers(value: string, start: number, text: string): Hit | null {
  let i = 0;
  let prefix = '';
  if (value.startsWith('+')) {
    prefix = '+';
    i = value[1] === ' ' ? 2 : 1;
  } else if (value.startsWith('00')) {
    prefix = '00';
  }
  const groups: Group[] = [];
  const seps: string[] = [];
  let sep = '';
  while (i < value.length) {
    const ch = value[i]!;
    if (ch === '(' || (ch >= '0' && ch <= '9')) {
      const paren = ch === '(';
      const s = paren ? i + 1 : i;
      let e = s;
      while (e < value.length && value[e]! >= '0' && value[e]! <= '9') e++;
      groups.push({ start: s, end: e, digits: value.slice(s, e), paren });
      if (groups.length > 1) seps.push(sep);
      sep = '';
      i = paren ? e + 1 : e;
    } else {
      sep += ch;
      i++;
    }
  }
  if (groups.length === 0) return null;
  let totalDigits = 0;
  for (const g of groups) totalDigits += g.digits.length;
  if (totalDigits < 7) return null;

  // Strong rules (card, international, North American, trunk-prefixed) on the longest prefix first;
  // only then the weaker "a phone word precedes it" rule, so that trailing numbers are not swallowed.
  for (let k = groups.length; k >= 1; k--) {
    const hit = strongNumberRule(groups, seps, k, prefix, value, start);
    if (hit === STOP) break;
    if (hit) return hit;
  }
  if (
    prefix === '' &&
    letterBefore(text, start, 32) &&
    PHONE_CUE.test(text.slice(Math.max(0, start - 32), start))
  ) {
    for (let k = groups.length; k >= 1; k--) {
      const gs = groups.slice(0, k);
      const d = gs.reduce((n, g) => n + g.digits.length, 0);
      if (d < 7) break;
      const last = gs[k - 1]!;
      const end = start + (last.paren ? last.end + 1 : last.end);
      if (d <= 15 && !DATE_SHAPE.test(value.slice(0, end - start)))
        return { type: 'phone', start, end, score: 0.75 };
    }
  }
  return null;
}

/** Whether any ASCII letter occurs in the `window` characters before `start` (cheap pre-check for cue regexes). */
function letterBefore(text: string, start: number, window: number): boolean {
  for (let p = Math.max(0, start - window); p < start; p++) {
    const c = text.charCodeAt(p) | 32;
    if (c >= 97 && c <= 122) return true;
  }
  return false;
}

const STOP: Hit = { type: 'stop', start: 0, end: 0, score: 0 };

function strongNumberRule(
  groups: Group[],
  seps: string[],
  k: number,
  prefix: string,
  value: string,
  start: number,
): Hit | null {
  const gs = groups.slice(0, k);
  const ss = seps.slice(0, k - 1);
  const digits = gs.map((g) => g.digits).join('');
  const last = gs[k - 1]!;
  const end = start + (last.paren ? last.end + 1 : last.end);
  const d = digits.length;
  if (d < 7) return STOP;
  if (
    prefix === '' &&
    !gs.some((g) => g.paren) &&
    d >= 12 &&
    d <= 19 &&
    isCardShape(gs, ss) &&
    luhnValid(digits) &&
    cardIssuerPlausible(digits)
  ) {
    return { type: 'credit_card', start, end, score: 0.95 };
  }
  if (prefix === '+') return d >= 8 && d <= 15 ? { type: 'phone', start, end, score: 0.9 } : null;
  if (prefix === '00') {
    const ok = d - 2 >= 8 && d - 2 <= 15 && k >= 2 && gs[0]!.digits.length <= 5 && gs[1]!.digits[0] !== '0';
    return ok ? { type: 'phone', start, end, score: 0.8 } : null;
  }
  if (DATE_SHAPE.test(value.slice(0, end - start))) return null;
  if (isNanp(gs, ss)) return { type: 'phone', start, end, score: 0.85 };
  // National format with trunk prefix: 020 7946 0958, 0171 2345678, 01 42 68 53 01.
  if (
    gs[0]!.digits[0] === '0' &&
    k >= 2 &&
    d >= 9 &&
    d <= 12 &&
    gs[1]!.digits[0] !== '0' &&
    gs.every((g) => g.digits.length >= 2)
  ) {
    return { type: 'phone', start, end, score: 0.75 };
  }
  return null;
}

function isCardShape(gs: Group[], ss: string[]): boolean {
  if (gs.length === 1) return true;
  const sep = ss[0];
  if (sep !== ' ' && sep !== '-') return false;
  if (ss.some((s) => s !== sep)) return false;
  if (gs[0]!.digits.length !== 4) return false;
  return gs.every((g) => g.digits.length >= 3 && g.digits.length <= 7);
}

/** North American numbering: [1-]NXX-NXX-XXXX with separators, area code optionally in parentheses. */
function isNanp(gs: Group[], ss: string[]): boolean {
  let g = gs;
  let s = ss;
  if (g.length === 4 && g[0]!.digits === '1' && !g[0]!.paren) {
    g = g.slice(1);
    s = s.slice(1);
  }
  if (g.length !== 3) return false;
  const [a, b, c] = g as [Group, Group, Group];
  if (a.digits.length !== 3 || b.digits.length !== 3 || c.digits.length !== 4) return false;
  if (b.paren || c.paren) return false;
  if (a.digits[0] === '0' || a.digits[0] === '1') return false;
  if (s[1] === '' || s[1] === undefined) return false;
  return a.paren || s[0] !== '';
}
