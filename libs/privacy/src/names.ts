import { foldWord, namesLexicon, wordHash, WordFlag, type NamesLexicon } from './names-lexicon.js';
import {
  continuesChunk,
  cueBefore,
  isInitial,
  isPlainWord,
  listNeighbour,
  matchDirectoryName,
  SPACE_GAP,
  startsChunk,
  type Kind,
} from './names-context.js';
import { tokenize, type Token } from './names-tokenize.js';

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
    const runs: Runs = { tokens, kinds, found, singles };
    let i = 0;
    while (i < tokens.length) {
      if (taken[i] || !startsChunk(tokens[i]!, kinds[i]!)) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < tokens.length && !taken[j + 1] && continuesChunk(tokens, kinds, j + 1)) j++;
      this.work += j - i + 1;
      this.chunk(runs, i, j);
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
  private chunk(runs: Runs, from: number, to: number): void {
    const { tokens, kinds } = runs;
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
      if (k > a) this.segment(runs, a, k - 1);
      a = k + 1;
    }
  }

  private segment(runs: Runs, from: number, to: number): void {
    const { tokens, kinds, found, singles } = runs;
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

/** The kinds of words without a hyphen or apostrophe, by flags and surname shape (see `kind`). */
/** What the chunk pass decides over: the words, what the lexicon says of each, and its findings so far. */
interface Runs {
  readonly tokens: readonly Token[];
  readonly kinds: readonly Kind[];
  /** Names found: token ranges with their score. */
  readonly found: Array<{ from: number; to: number; score: number }>;
  /** Runs that are a name only if a name next to them in a list says so. */
  readonly singles: Array<{ from: number; to: number }>;
}

const PLAIN_KINDS = new Map<number, Kind>();
const NO_VETOES: ReadonlySet<number> = new Set();
