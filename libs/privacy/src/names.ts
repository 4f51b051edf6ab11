import {
  FOLD_LIMIT,
  FOLD_TABLE,
  foldWord,
  namesLexicon,
  wordHash,
  WordFlag,
  type NamesLexicon,
} from './names-lexicon.js';
import { isAsciiLetterCode, isDigitCode, isNonAsciiWordCode, isWordCode } from './text-scan.js';

/** A person's name found in free text: `[start, end)` in UTF-16 code units. */
export interface NameHit {
  readonly type: 'person';
  readonly start: number;
  readonly end: number;
  readonly score: number;
}

/**
 * The recogniser as the detector plugs it in (`Detector.forProfile`, unless the profile says
 * `names: false`), with the directory's names matched tolerantly.
 */
export function nameRecognizer(
  directory?: { readonly people: ReadonlyArray<{ readonly name: string }> } | DirectoryNames,
  options: NameRecogniserOptions = {},
) {
  const recogniser = new NameRecogniser(
    directory instanceof DirectoryNames ? directory : (directory?.people ?? []).map((p) => p.name),
    options,
  );
  return (text: string): NameHit[] => recogniser.find(text);
}

export interface NameRecogniserOptions {
  /**
   * Names in free text (default true). False: only the directory's names, matched tolerantly (case,
   * accents, NBSP, hyphens) — what a profile with `names: false` still gets.
   */
  readonly freeText?: boolean;
}

/**
 * Builds the names lexicon now (0.4–1 s with loading compromise, once per process) rather than
 * during the first request that needs it: a server calls this at start.
 */
export function preloadNamesLexicon(): void {
  namesLexicon();
}

/** Scores, below the directory's exact match (0.95) and the detector's title rule (0.85). */
const SCORE_DIRECTORY = 0.95;
const SCORE_FIRST_NAME = 0.8;
const SCORE_CUE = 0.75;
const SCORE_SHAPE = 0.7;

const SPACE_GAP = /^[ \t\u00a0\u202f\u2007]$/;
const INITIAL_GAP = /^\.[ \t\u00a0\u202f\u2007]$/;
const LIST_GAP = /^[ \t\u00a0\u202f\u2007]*[,;&/][ \t\u00a0\u202f\u2007]*$/;
const TITLE_GAP = /^\.?[ \t\u00a0\u202f\u2007]+$/;
const CUE_GAP = /^[ \t\u00a0\u202f\u2007]*[,:]?[ \t\u00a0\u202f\u2007\r\n]*$/;

type Shape = 'cap' | 'upper' | 'lower' | 'none';

/** A word of the text that may play a part in a name (tokenize drops the others). */
class Token {
  private foldedForm: string | undefined;

  constructor(
    private readonly text: string,
    readonly start: number,
    /** Without a possessive 's. */
    readonly end: number,
    /** The first hash of its folded form (wordHash). */
    readonly hash: number,
    readonly shape: Shape,
    /** A digit, `_`, `@`, `/` or `.` touches it: an identifier, a path or an address, not prose. */
    readonly code: boolean,
    /** The gap before it (up to 4 characters, then `…`): the rules that join words read it. */
    readonly gapBefore: string,
    readonly sentenceStart: boolean,
    /** What the lexicon knows of the whole word ({@link WordFlag}). */
    readonly flags: number,
    /** Holds a hyphen or an apostrophe: its parts are looked up too. */
    readonly compound: boolean,
    /** The first character after the word and the blanks that follow it (-1 at the end of the text). */
    readonly nextChar: number,
  ) {}

  /** Lowercase without accents; computed only for the few words a rule compares as text. */
  get folded(): string {
    return (this.foldedForm ??= foldWord(this.text.slice(this.start, this.end)));
  }
}

interface Kind {
  readonly first: boolean;
  readonly last: boolean;
  /** A place, organisation or calendar word of the lexicon (also a surname: Washington, Mendoza). */
  readonly notPerson: boolean;
  /** A job title, company, product, street or calendar word: never part of a name. */
  readonly business: boolean;
  readonly english: boolean;
  readonly particle: boolean;
  readonly title: boolean;
  /** O'Brien, McAllister, D'Souza: the shape of a surname. */
  readonly surnameShape: boolean;
  /** {@link WordFlag} bits of the cue, list and sign-off kinds. */
  readonly cue: number;
}

/**
 * Finds people's names in free text without a directory (issue 19): compromise's lexicon of first and
 * last names, places and organisations (see names-lexicon.ts), an English vocabulary, word shape, and
 * context (greetings, signatures, titles, verbs of address such as "call" or "ask", lists). Tolerant of
 * case (`MARISOL OKONKWO`, `priya sharma`), accents (`José Álvarez` = `Jose Alvarez` for the lexicon
 * and the directory), NBSP between words, hyphens and apostrophes (`Jean-Luc`, `O'Brien`,
 * `van der Berg`). Directory names are matched the same tolerant way.
 *
 * One pass over the words of the text; each costs a few hash lookups. What it cannot know: a single
 * unknown capitalised word without a cue (`Samsung` or `Okonkwo`?) is left alone, names written in
 * scripts without case (Arabic, CJK) are not found, and a pair of unknown capitalised words that is a
 * brand (`Xiaomi Redmi`) is taken for a name.
 */
/**
 * The directory's names as the recogniser looks them up. Built once per directory and shared by the
 * recognisers of every profile (for 100,000 people it is most of a recogniser's build time and memory);
 * `add` lets a caller build it in chunks, yielding between them.
 */
export class DirectoryNames {
  /** Directory names, folded, by their first word. */
  readonly byFirstWord = new Map<string, string[][]>();
  /** First hashes of every directory word: tokenize keeps those words even when they are ordinary. */
  readonly words = new Set<number>();

  constructor(names: Iterable<string> = []) {
    for (const name of names) this.add(name);
  }

  add(name: string): void {
    const words = [...name.matchAll(/[\p{L}\p{M}]+/gu)].map((m) => foldWord(m[0]));
    if (words.length < 2) return;
    const list = this.byFirstWord.get(words[0]!) ?? [];
    list.push(words);
    this.byFirstWord.set(words[0]!, list);
    for (const word of words) this.words.add(wordHash(word)[0]);
  }
}

export class NameRecogniser {
  private readonly lexicon: NamesLexicon;
  /** Directory names, folded, by their first word. */
  private readonly directory: ReadonlyMap<string, string[][]>;
  /** First hashes of every directory word: tokenize keeps those words even when they are ordinary. */
  private readonly directoryWords: ReadonlySet<number>;

  private readonly freeText: boolean;

  /**
   * Work done so far: characters scanned plus every step of the loops over words (runs, phrases,
   * lists, directory names). It grows with the text and lets tests check that growth is linear
   * without a clock that a loaded machine can stretch.
   */
  work = 0;

  /** `directoryNames`: the names, or a {@link DirectoryNames} shared with other recognisers. */
  constructor(directoryNames: readonly string[] | DirectoryNames = [], options: NameRecogniserOptions = {}) {
    this.freeText = options.freeText ?? true;
    this.lexicon = namesLexicon();
    const names =
      directoryNames instanceof DirectoryNames ? directoryNames : new DirectoryNames(directoryNames);
    this.directory = names.byFirstWord;
    this.directoryWords = names.words;
  }

  /** Names in `text`, sorted by start, non-overlapping. */
  find(text: string): NameHit[] {
    const tokens = tokenize(text, this.lexicon, this.directoryWords);
    this.work += text.length + tokens.length;
    if (tokens.length === 0) return [];
    const kinds = tokens.map((t) => this.kind(t));
    const hits: NameHit[] = [];
    const taken = new Uint8Array(tokens.length);
    this.directoryPass(tokens, taken, hits);
    if (this.freeText) {
      this.chunkPass(tokens, kinds, taken, hits);
      this.lowercasePass(tokens, kinds, taken, hits);
    }
    hits.sort((a, b) => a.start - b.start);
    return hits;
  }

  /**
   * What a word is to the rules. A plain word's kind follows from its lexicon flags and whether it
   * has a surname's shape alone: those are shared (a request has hundreds of words and a few dozen
   * kinds), so most words allocate nothing here.
   */
  private kind(t: Token): Kind {
    if (t.compound) return this.kindOf(t);
    const key = t.flags * 2 + (this.surnameShape(t, (t.flags & WordFlag.ENGLISH) !== 0) ? 1 : 0);
    let kind = PLAIN_KINDS.get(key);
    if (kind === undefined) {
      kind = this.kindOf(t);
      PLAIN_KINDS.set(key, kind);
    }
    return kind;
  }

  /** Only an unknown word can have a surname's shape: the text is read only then. */
  private surnameShape(t: Token, english: boolean): boolean {
    return !english && t.shape !== 'lower' && t.end - t.start > 3 && /^(?:[od]['’]|mc)/.test(t.folded);
  }

  private kindOf(t: Token): Kind {
    const lex = this.lexicon;
    const flags = t.flags;
    let first = (flags & WordFlag.FIRST_NAME) !== 0;
    let last = (flags & WordFlag.LAST_NAME) !== 0;
    let english = (flags & WordFlag.ENGLISH) !== 0;
    let notPerson = (flags & WordFlag.NOT_PERSON) !== 0;
    let business = (flags & WordFlag.BUSINESS) !== 0;
    if (t.compound && /[-\u2010]/.test(t.folded)) {
      // Jean-Luc, Al-Sayed, Min-jun: a name if a part is one; English only if every part is.
      const parts = t.folded.split(/[-\u2010]/).map((p) => lex.flagsOf(p));
      first ||= parts.some((p) => (p & WordFlag.FIRST_NAME) !== 0);
      last ||= parts.some((p) => (p & (WordFlag.LAST_NAME | WordFlag.PARTICLE)) !== 0);
      english = parts.every((p) => (p & WordFlag.ENGLISH) !== 0);
      notPerson ||= parts.every((p) => (p & WordFlag.NOT_PERSON) !== 0);
      business ||= parts.every((p) => (p & WordFlag.BUSINESS) !== 0);
    }
    return {
      first,
      last,
      notPerson,
      business,
      english,
      particle: (flags & WordFlag.PARTICLE) !== 0,
      title: (flags & WordFlag.TITLE) !== 0,
      surnameShape: this.surnameShape(t, english),
      cue: flags & (WordFlag.CUE | WordFlag.WEAK_CUE | WordFlag.LIST | WordFlag.SIGN_OFF | WordFlag.VERB_CUE),
    };
  }

  /** Directory names, folded: any case, accents, NBSP or hyphen between the words. */
  private directoryPass(tokens: readonly Token[], taken: Uint8Array, hits: NameHit[]): void {
    if (this.directory.size === 0) return;
    for (let i = 0; i < tokens.length; i++) {
      if (!tokens[i]!.compound && !this.directoryWords.has(tokens[i]!.hash)) continue;
      const words = tokens[i]!.folded.split(/[-\u2010'’]/);
      const candidates = this.directory.get(words[0]!);
      if (!candidates) continue;
      for (const name of candidates) {
        this.work += name.length;
        const end = matchDirectoryName(tokens, i, name);
        if (end === -1) continue;
        hits.push({ type: 'person', start: tokens[i]!.start, end: tokens[end]!.end, score: SCORE_DIRECTORY });
        for (let k = i; k <= end; k++) taken[k] = 1;
        i = end;
        break;
      }
    }
  }

  private chunkPass(
    tokens: readonly Token[],
    kinds: readonly Kind[],
    taken: Uint8Array,
    hits: NameHit[],
  ): void {
    const found: Array<{ from: number; to: number; score: number }> = [];
    const singles: Array<{ from: number; to: number }> = [];
    let i = 0;
    while (i < tokens.length) {
      if (taken[i] || !startsChunk(tokens[i]!, kinds[i]!)) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < tokens.length && !taken[j + 1] && continuesChunk(tokens, kinds, j + 1)) j++;
      this.work += j - i + 1;
      this.chunk(tokens, kinds, i, j, found, singles);
      i = j + 1;
    }
    // Lists: a lone word joined by a comma or "and" to a name found next to it is a name too
    // ("Kofi Mensah, Ngozi and Ama"), when it has a name's shape and is no English or place word.
    const isName = new Uint8Array(tokens.length);
    for (const f of found) for (let k = f.from; k <= f.to; k++) isName[k] = 1;
    for (let pass = 0; pass < 2; pass++) {
      this.work += singles.length;
      for (const single of pass === 0 ? singles : [...singles].reverse()) {
        if (isName[single.from]) continue;
        if (single.from === single.to) {
          const k = kinds[single.from]!;
          if (k.english && !k.first && !k.last) continue;
          if (k.notPerson && !k.first) continue;
        }
        if (listNeighbour(tokens, kinds, isName, single.from, single.to)) {
          found.push({ ...single, score: SCORE_SHAPE });
          for (let k = single.from; k <= single.to; k++) isName[k] = 1;
        }
      }
    }
    for (const f of found) {
      hits.push({ type: 'person', start: tokens[f.from]!.start, end: tokens[f.to]!.end, score: f.score });
      for (let k = f.from; k <= f.to; k++) taken[k] = 1;
    }
  }

  /** Decides on one run of capitalised words `[from, to]`; pushes names to `found`, lone words to `singles`. */
  private chunk(
    tokens: readonly Token[],
    kinds: readonly Kind[],
    from: number,
    to: number,
    found: Array<{ from: number; to: number; score: number }>,
    singles: Array<{ from: number; to: number }>,
  ): void {
    const vetoed = this.phraseVetoes(tokens, from, to);
    this.work += to - from + 2;
    // Split at place, organisation and calendar words that are no name ("Marisol Okonkwo Berlin").
    let a = from;
    for (let k = from; k <= to + 1; k++) {
      // A place word right after a first name is a surname ("Jamal Washington", "Paola Mendoza").
      const place =
        k <= to &&
        kinds[k]!.notPerson &&
        !kinds[k]!.first &&
        !kinds[k]!.last &&
        !(k > a && kinds[k - 1]!.first);
      const boundary = k > to || vetoed.has(k) || place || kinds[k]!.business || kinds[k]!.title;
      if (!boundary) continue;
      if (k > a) this.segment(tokens, kinds, a, k - 1, found, singles);
      a = k + 1;
    }
  }

  private segment(
    tokens: readonly Token[],
    kinds: readonly Kind[],
    from: number,
    to: number,
    found: Array<{ from: number; to: number; score: number }>,
    singles: Array<{ from: number; to: number }>,
  ): void {
    // A leading English word that is no name is context when it opens the sentence or is a cue
    // ("Attached Invoice", "Thanks Marisol"); elsewhere it may be a given name ("Ask Jasmine Pritchard").
    while (
      from <= to &&
      isPlainWord(kinds[from]!) &&
      (tokens[from]!.sentenceStart || (kinds[from]!.cue & WordFlag.CUE) !== 0 || kinds[from]!.business)
    )
      from++;
    while (to >= from && (kinds[to]!.particle || isInitial(tokens[to]!))) to--;
    if (from > to) return;
    this.work += 2 * (to - from + 1);
    const core: number[] = [];
    for (let k = from; k <= to; k++) if (!kinds[k]!.particle && !isInitial(tokens[k]!)) core.push(k);
    if (core.length === 0) return;
    const cue = cueBefore(tokens, kinds, from);
    if (core.length === 1) {
      const at = core[0]!;
      const k = kinds[at]!;
      const t = tokens[at]!;
      if (cue === 'title' && !k.business) found.push({ from, to, score: SCORE_CUE });
      else if (cue !== 'none' && cue !== 'weak' && !k.english && !k.notPerson && !k.business)
        found.push({ from, to, score: SCORE_CUE });
      else if (cue !== 'none' && (k.first || k.last || k.surnameShape) && !(k.notPerson && !k.first))
        found.push({ from, to, score: SCORE_CUE });
      else if (k.first && !k.notPerson && t.shape === 'cap' && (!k.english || !t.sentenceStart))
        found.push({ from, to, score: SCORE_SHAPE });
      else if (t.shape === 'cap') singles.push({ from, to });
      return;
    }
    // In capitals, words that are all English are mostly the words, first names or not (`SKIP
    // LOCKED`), where `MARÍA GONZÁLEZ` has a word that is no English one.
    const allEnglish = core.every((at) => kinds[at]!.english);
    let evidence = 0;
    for (const at of core) evidence += this.evidence(tokens[at]!, kinds[at]!, allEnglish);
    const head = kinds[core[0]!]!;
    const headIsName = head.first && !head.notPerson && !(allEnglish && tokens[core[0]!]!.shape === 'upper');
    if (headIsName && evidence >= 2) found.push({ from, to, score: SCORE_FIRST_NAME });
    else if (evidence >= 2 || (evidence >= 1 && (cue === 'strong' || cue === 'title')))
      found.push({ from, to, score: cue === 'none' ? SCORE_SHAPE : SCORE_CUE });
    // Not enough on its own; a name next to it in a list decides ("Kofi Mensah and Sipho Nkosi").
    else if (evidence >= 1) singles.push({ from, to });
  }

  /** How much one word of a run says "name": 2 a known name, 1 an unknown word, 0 an English word. */
  private evidence(t: Token, k: Kind, allEnglish: boolean): number {
    if (k.first && allEnglish && t.shape === 'upper') return 1;
    if (k.first || k.surnameShape) return 2;
    if (k.last) return k.english || k.notPerson ? 1 : 2;
    if (k.english || k.notPerson || k.business) return 0;
    // An unknown all-capitals word is more likely an acronym (ACME, SAP) than a name.
    return t.shape === 'upper' ? 0 : 1;
  }

  /** Tokens of `[from, to]` inside a known multi-word place or organisation (`Kuala Lumpur`). */
  private phraseVetoes(tokens: readonly Token[], from: number, to: number): ReadonlySet<number> {
    let out: Set<number> | undefined;
    const longest = this.lexicon.longestPhrase;
    for (let i = from; i < to; i++) {
      let phrase = tokens[i]!.folded;
      for (let j = i + 1; j <= to && j - i < longest; j++) {
        this.work++;
        phrase += ` ${tokens[j]!.folded}`;
        if (this.lexicon.notPeoplePhrases.has(phrase))
          for (let k = i; k <= j; k++) (out ??= new Set()).add(k);
      }
    }
    return out ?? NO_VETOES;
  }

  /** `priya sharma`, `call marisol`: lowercase names where the lexicon is sure and no English word is in the way. */
  private lowercasePass(
    tokens: readonly Token[],
    kinds: readonly Kind[],
    taken: Uint8Array,
    hits: NameHit[],
  ): void {
    const nameLike = (i: number) => {
      const t = tokens[i];
      const k = kinds[i];
      return (
        t !== undefined &&
        k !== undefined &&
        !taken[i] &&
        !t.code &&
        t.shape === 'lower' &&
        !k.english &&
        !k.notPerson &&
        !k.title &&
        !k.particle &&
        t.end - t.start >= 2
      );
    };
    const known = (i: number) => kinds[i]!.first || kinds[i]!.last;
    for (let i = 0; i < tokens.length; i++) {
      if (!nameLike(i)) continue;
      // A run of up to four such words: a name when the lexicon knows one of them, or a cue precedes.
      let j = i;
      while (
        j + 1 < tokens.length &&
        j - i < 3 &&
        SPACE_GAP.test(tokens[j + 1]!.gapBefore) &&
        nameLike(j + 1)
      )
        j++;
      let knows = false;
      this.work += j - i + 1;
      for (let k = i; k <= j; k++) knows ||= known(k);
      const before = cueBefore(tokens, kinds, i);
      const cue = before === 'strong' || before === 'title';
      if ((j > i && (knows || cue)) || (j === i && cue && kinds[i]!.first)) {
        hits.push({ type: 'person', start: tokens[i]!.start, end: tokens[j]!.end, score: SCORE_SHAPE });
        for (let k = i; k <= j; k++) taken[k] = 1;
      }
      i = j;
    }
  }
}

function isInitial(t: Token): boolean {
  return t.end - t.start === 1 && t.shape === 'cap';
}

function isPlainWord(k: Kind): boolean {
  return (k.english || k.notPerson || k.business) && !k.first && !k.last && !k.particle && !k.surnameShape;
}

function startsChunk(t: Token, k: Kind): boolean {
  if (t.code) return false;
  return t.shape === 'cap' || t.shape === 'upper' || (k.particle && t.shape !== 'none');
}

function continuesChunk(tokens: readonly Token[], kinds: readonly Kind[], j: number): boolean {
  const t = tokens[j]!;
  const prev = tokens[j - 1]!;
  if (t.code) return false;
  const joined = SPACE_GAP.test(t.gapBefore) || (isInitial(prev) && INITIAL_GAP.test(t.gapBefore));
  if (!joined) return false;
  if (t.shape === 'cap' || t.shape === 'upper') return true;
  // A lowercase particle only inside a name: "van der Berg", "da Silva".
  if (!kinds[j]!.particle) return false;
  for (let k = j + 1; k < tokens.length && k <= j + 3; k++) {
    if (!SPACE_GAP.test(tokens[k]!.gapBefore)) return false;
    if (tokens[k]!.shape === 'cap') return true;
    if (!kinds[k]!.particle) return false;
  }
  return false;
}

/** The cue right before token `at`: a title, a greeting, a verb of address, a signature line. */
function cueBefore(
  tokens: readonly Token[],
  kinds: readonly Kind[],
  at: number,
): 'title' | 'strong' | 'weak' | 'none' {
  if (at === 0) return 'none';
  const gap = tokens[at]!.gapBefore;
  const prev = kinds[at - 1]!;
  // Ordinary words are not kept as tokens (tokenize): the previous token is the previous word only
  // when the gap holds no letter.
  if (prev.title && TITLE_GAP.test(gap)) return 'title';
  if (!CUE_GAP.test(gap) || (prev.cue & WordFlag.CUE) === 0) return 'none';
  // "every call: OpenAI" is a noun and a label; "call Marisol" a verb and a name.
  if ((prev.cue & WordFlag.VERB_CUE) !== 0 && gap.includes(':')) return 'none';
  // "Regards,\nMarisol": only a sign-off reaches across a line break.
  if (/[\r\n]/.test(gap) && (prev.cue & WordFlag.SIGN_OFF) === 0) return 'none';
  return (prev.cue & WordFlag.WEAK_CUE) !== 0 ? 'weak' : 'strong';
}

/** Whether the words `[from, to]` are joined by a comma or "and" to a name on either side. */
function listNeighbour(
  tokens: readonly Token[],
  kinds: readonly Kind[],
  isName: Uint8Array,
  from: number,
  to: number,
): boolean {
  const joinedLeft = (i: number) => {
    // token i is joined to token i-1 by ", " or " and "
    const gap = tokens[i]!.gapBefore;
    if (i === 0) return -1;
    if (LIST_GAP.test(gap)) return i - 1;
    if (SPACE_GAP.test(gap) && (kinds[i - 1]!.cue & WordFlag.LIST) !== 0 && i >= 2) {
      const g = tokens[i - 1]!.gapBefore;
      if (SPACE_GAP.test(g) || LIST_GAP.test(g)) return i - 2;
    }
    return -1;
  };
  // Joined by a comma alone, the words must also end (or open) a list item: "Kofi Mensah, Ngozi and
  // Ama" are names, "Hi Marisol, Salesforce is down" has no second one.
  const left = joinedLeft(from);
  if (left >= 0 && isName[left]) {
    if (!LIST_GAP.test(tokens[from]!.gapBefore)) return true;
    const next = tokens[to]!.nextChar;
    if (next === -1 || ITEM_END.has(next)) return true;
    if (
      to + 1 < tokens.length &&
      SPACE_GAP.test(tokens[to + 1]!.gapBefore) &&
      (kinds[to + 1]!.cue & WordFlag.LIST) !== 0
    )
      return true;
  }
  for (let r = to + 1; r < tokens.length && r <= to + 2; r++) {
    if (joinedLeft(r) !== to || !isName[r]) continue;
    if (r === to + 2 || !LIST_GAP.test(tokens[r]!.gapBefore)) return true;
    if (from === 0 || tokens[from]!.sentenceStart || ITEM_START.test(tokens[from]!.gapBefore)) return true;
  }
  return false;
}

/** Characters that end a list item. */
const ITEM_END = new Set([44, 59, 46, 41, 10, 13, 33, 63]); // , ; . ) \n \r ! ?
/** A gap that opens a list item: after a comma, a semicolon, a colon or an opening parenthesis. */
const ITEM_START = /[,;:(][ \t\u00a0\u202f\u2007]*$/;

function nextCharAfter(text: string, from: number): number {
  let p = from;
  while (p < text.length && p < from + 8 && isBlankCode(text.charCodeAt(p))) p++;
  return p < text.length ? text.charCodeAt(p) : -1;
}

function matchDirectoryName(tokens: readonly Token[], i: number, name: readonly string[]): number {
  // A token may hold several words of the name ("Jean-Luc"): walk the words across tokens.
  let w = 0;
  for (let k = i; k < tokens.length; k++) {
    if (k > i && !/^[ \t\u00a0\u202f\u2007-]+$/.test(tokens[k]!.gapBefore)) return -1;
    for (const part of tokens[k]!.folded.split(/[-\u2010'’]/)) {
      if (part !== name[w]) return -1;
      w++;
      if (w === name.length) return k;
    }
  }
  return -1;
}

const CASE_LIMIT = 0x2000;
/** Per code unit below 0x2000: 1 uppercase letter, 2 lowercase letter, 0 neither. */
const CASE = (() => {
  const table = new Uint8Array(CASE_LIMIT);
  for (let c = 0; c < CASE_LIMIT; c++) {
    const ch = String.fromCharCode(c);
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    table[c] = lower !== ch ? 1 : upper !== ch ? 2 : 0;
  }
  return table;
})();
const caseOf = (c: number) => (c < CASE_LIMIT ? CASE[c]! : 0);

/** Letters (and combining marks) make words; digits do not (a digit next to a word makes it code). */
function isLetter(c: number): boolean {
  return c < 128 ? isAsciiLetterCode(c) : isNonAsciiWordCode(c);
}
const isLowerAscii = (c: number) => c >= 97 && c <= 122;
/** What may stand before an inner capital in a name: Mc, Mac, De, Di, Da, Du, La, Le, Van, Von, Fitz. */
const SURNAME_PREFIX = /^(?:mc|mac|de|di|da|du|la|le|van|von|fitz)$/i;
/** Characters that make a word part of an identifier, a path or an address rather than prose. */
function isCodeNeighbour(c: number): boolean {
  return (
    isDigitCode(c) ||
    c === 95 || // _
    c === 64 || // @
    c === 47 || // /
    c === 92 || // \
    c === 35 || // #
    c === 36 || // $
    c === 61 || // =
    c === 60 || // <
    c === 62 || // >
    c === 91 || // [
    c === 93 || // ]
    c === 123 || // {
    c === 125 // }
  );
}
const isBlankCode = (c: number) => c === 32 || c === 9 || c === 0xa0 || c === 0x202f || c === 0x2007;
/** Characters after which a word opens a sentence (or a list item, a quote, a line). */
function opensSentence(c: number): boolean {
  return (
    c === 46 ||
    c === 33 ||
    c === 63 ||
    c === 58 ||
    c === 59 ||
    c === 10 ||
    c === 13 ||
    c === 34 ||
    c === 0x201c ||
    c === 40 ||
    c === 45 ||
    c === 42 ||
    c === 0x2022
  );
}

/** The kinds of words without a hyphen or apostrophe, by flags and surname shape (see `kind`). */
const PLAIN_KINDS = new Map<number, Kind>();
const NO_VETOES: ReadonlySet<number> = new Set();

/** Skip words that can play no part: lowercase English or place words that are no cue, particle or title. */
const PLAIN = WordFlag.ENGLISH | WordFlag.NOT_PERSON | WordFlag.BUSINESS;
const SPECIAL = WordFlag.PARTICLE | WordFlag.TITLE | WordFlag.CUE | WordFlag.LIST | WordFlag.SIGN_OFF;

/**
 * The words of `text` that may play a part in a name, in order. One pass over the code units: each
 * word's key is hashed as it is scanned, and a lowercase ordinary word (most of any text) is dropped
 * there without allocating anything. The passes tell adjacent words by their gap, which then holds
 * the dropped word's letters: no rule joins across it.
 */
function tokenize(text: string, lexicon: NamesLexicon, keep: ReadonlySet<number>): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let prevRawEnd = 0;
  let rawIndex = 0;
  let i = 0;
  while (i < n) {
    const c0 = text.charCodeAt(i);
    if (!((c0 >= 97 && c0 <= 122) || (c0 >= 65 && c0 <= 90) || (c0 >= 0xc0 && isNonAsciiWordCode(c0)))) {
      i++;
      continue;
    }
    const start = i;
    let h1 = 0;
    let h2 = 0;
    let firstCase = 0;
    let letters = 0;
    let lowers = 0;
    // An uppercase letter right after a lowercase one (`AppError`, `getUser`): an identifier, unless
    // the word has a surname's prefix (`McAllister`, `DeShawn`, `MacLeod`, `LeBron`, `DiCaprio`).
    let camelAt = -1;
    let hyphenated = false;
    // The hash before the last apostrophe, for a possessive "'s" that is not part of the name.
    let apostropheAt = -1;
    let h1BeforeApostrophe = 0;
    let h2BeforeApostrophe = 0;
    // The hot loop: the hash steps of names-lexicon.ts (hashStep1, hashStep2, foldCode) written out
    // here, as calls into another module are not always inlined (text-scan.ts).
    while (i < n) {
      const c = text.charCodeAt(i);
      let f: number;
      if (c >= 97 && c <= 122) {
        f = c;
        if (letters === 0) firstCase = 2;
        lowers++;
      } else if (c >= 65 && c <= 90) {
        f = c + 32;
        if (letters === 0) firstCase = 1;
        else if (camelAt < 0 && lowers > 0 && isLowerAscii(text.charCodeAt(i - 1))) camelAt = i - start;
      } else if (c >= 0xc0 && isNonAsciiWordCode(c)) {
        if (c >= 0x300 && c <= 0x36f) {
          // A combining mark: part of the word, not of its key.
          i++;
          continue;
        }
        f = c < FOLD_LIMIT ? FOLD_TABLE[c]! : c;
        const k = caseOf(c);
        if (letters === 0) firstCase = k;
        if (k === 2) lowers++;
      } else if (
        (c === 39 || c === 0x2019 || c === 45 || c === 0x2010) &&
        i + 1 < n &&
        isLetter(text.charCodeAt(i + 1))
      ) {
        if (c === 39 || c === 0x2019) {
          apostropheAt = i;
          h1BeforeApostrophe = h1;
          h2BeforeApostrophe = h2;
          f = 39;
        } else {
          hyphenated = true;
          f = 45;
        }
        h1 = ((h1 << 5) - h1 + f) | 0;
        h2 = ((h2 << 7) + (h2 << 1) + h2 + f + 0x9e) | 0;
        i++;
        continue;
      } else break;
      h1 = ((h1 << 5) - h1 + f) | 0;
      h2 = ((h2 << 7) + (h2 << 1) + h2 + f + 0x9e) | 0;
      letters++;
      i++;
    }
    const rawEnd = i;
    let end = rawEnd;
    if (
      apostropheAt === rawEnd - 2 &&
      rawEnd - start > 3 &&
      (text.charCodeAt(rawEnd - 1) | 32) === 115 // s
    ) {
      end = apostropheAt;
      h1 = h1BeforeApostrophe;
      h2 = h2BeforeApostrophe;
    }
    const flags = lexicon.flags(h1, h2);
    const shape: Shape =
      firstCase === 1 ? (letters >= 2 && lowers === 0 ? 'upper' : 'cap') : firstCase === 2 ? 'lower' : 'none';
    const index = rawIndex++;
    // The gap runs from the previous word kept: a dropped word's letters stay inside it, so no rule
    // takes the words on either side of it for neighbours.
    const gapStart = prevRawEnd;
    const compound = hyphenated || apostropheAt >= 0;
    if (shape === 'none') continue;
    if ((flags & PLAIN) !== 0 && (flags & SPECIAL) === 0 && !compound && !keep.has(h1)) {
      if (shape === 'lower') continue;
    }
    const before = start > 0 ? text.charCodeAt(start - 1) : 32;
    const after = rawEnd < n ? text.charCodeAt(rawEnd) : 32;
    const code =
      (camelAt >= 0 && !SURNAME_PREFIX.test(text.slice(start, start + camelAt))) ||
      isCodeNeighbour(before) ||
      isCodeNeighbour(after) ||
      (before === 46 && start >= 2 && isWordCode(text.charCodeAt(start - 2))) ||
      (after === 46 && rawEnd + 1 < n && isWordCode(text.charCodeAt(rawEnd + 1)));
    let p = start - 1;
    while (p >= start - 3 && p >= 0 && isBlankCode(text.charCodeAt(p))) p--;
    const sentenceStart = index === 0 || p < 0 || (p >= start - 3 && opensSentence(text.charCodeAt(p)));
    const gapFrom = Math.max(gapStart, start - 4);
    const gap = text.slice(gapFrom, start);
    // An ordinary capitalised word that opens a sentence ("Please", "The") is context the rules
    // would strip anyway (segment): dropped here.
    if (
      sentenceStart &&
      shape === 'cap' &&
      (flags & PLAIN) !== 0 &&
      (flags & (SPECIAL | WordFlag.FIRST_NAME | WordFlag.LAST_NAME)) === 0 &&
      !compound &&
      !keep.has(h1)
    )
      continue;
    prevRawEnd = rawEnd;
    out.push(
      new Token(
        text,
        start,
        end,
        h1,
        shape,
        code,
        start - gapStart > 4 ? `${gap}…` : gap,
        sentenceStart,
        flags,
        compound,
        nextCharAfter(text, rawEnd),
      ),
    );
  }
  return out;
}
