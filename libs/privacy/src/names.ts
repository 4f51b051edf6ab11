import { foldWord, namesLexicon, type NamesLexicon } from './names-lexicon.js';

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
export function nameRecognizer(directory?: { readonly people: ReadonlyArray<{ readonly name: string }> }) {
  const recogniser = new NameRecogniser((directory?.people ?? []).map((p) => p.name));
  return (text: string): NameHit[] => recogniser.find(text);
}

/** Scores, below the directory's exact match (0.95) and the detector's title rule (0.85). */
const SCORE_DIRECTORY = 0.95;
const SCORE_FIRST_NAME = 0.8;
const SCORE_CUE = 0.75;
const SCORE_SHAPE = 0.7;

const PARTICLES = new Set(
  'van von de da del della der den di du la le bin binti ibn al el ter ten dos das do zu af av mac st'.split(
    ' ',
  ),
);
const TITLES = new Set('mr mrs ms miss mx dr prof sir dame herr frau mme mlle sr sra srta dona'.split(' '));
/** Words after which a capitalised (or lowercase) word is addressed or referred to as a person. */
const STRONG_CUES = new Set(
  (
    'dear hi hello hey call called calling ask asked tell told email emailed mail ping pinged contact contacted meet met ' +
    'cc thanks thank attn attention regards sincerely cheers by from with to for and invite invited remind reminded ' +
    'per via cc: bcc spoke speak talk talked phoned'
  ).split(' '),
);
/** Cues that are common words: they only support a word the lexicon knows as a name. */
const WEAK_CUES = new Set('by from with to for and per via'.split(' '));
/** Joins of a list of people: "Kofi Mensah, Ngozi and Ama". */
const LIST_WORDS = new Set(['and', 'und', 'et', 'y', 'e', 'or']);

const TOKEN = /[\p{L}\p{M}]+(?:['’\u2010-][\p{L}\p{M}]+)*/gu;
const SPACE_GAP = /^[ \t\u00a0\u202f\u2007]$/;
const INITIAL_GAP = /^\.[ \t\u00a0\u202f\u2007]$/;
const LIST_GAP = /^[ \t\u00a0\u202f\u2007]*[,;&/][ \t\u00a0\u202f\u2007]*$/;
const NAME_PREFIX = /^(?:o['’]|d['’]|mc|mac(?=[A-Z]))/i;

type Shape = 'cap' | 'upper' | 'lower' | 'none';

interface Token {
  readonly start: number;
  /** Without a possessive 's. */
  readonly end: number;
  readonly folded: string;
  readonly shape: Shape;
  /** A digit, `_`, `@`, `/` or `.` touches it: an identifier, a path or an address, not prose. */
  readonly code: boolean;
  /** The gap before it (up to 4 characters; longer gaps are cut). */
  readonly gapBefore: string;
  readonly sentenceStart: boolean;
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
export class NameRecogniser {
  private readonly lexicon: NamesLexicon;
  /** Directory names, folded, by their first word. */
  private readonly directory = new Map<string, string[][]>();

  constructor(directoryNames: readonly string[] = []) {
    this.lexicon = namesLexicon();
    for (const name of directoryNames) {
      const words = [...name.matchAll(/[\p{L}\p{M}]+/gu)].map((m) => foldWord(m[0]));
      if (words.length < 2) continue;
      const list = this.directory.get(words[0]!) ?? [];
      list.push(words);
      this.directory.set(words[0]!, list);
    }
  }

  /** Names in `text`, sorted by start, non-overlapping. */
  find(text: string): NameHit[] {
    const tokens = tokenize(text);
    if (tokens.length === 0) return [];
    const kinds = tokens.map((t) => this.kind(t));
    const hits: NameHit[] = [];
    const taken = new Uint8Array(tokens.length);
    this.directoryPass(tokens, taken, hits);
    this.chunkPass(tokens, kinds, taken, hits);
    this.lowercasePass(tokens, kinds, taken, hits);
    hits.sort((a, b) => a.start - b.start);
    return hits;
  }

  private kind(t: Token): Kind {
    const lex = this.lexicon;
    const w = t.folded;
    let first = lex.firstNames.has(w);
    let last = lex.lastNames.has(w);
    let english = lex.englishWords.has(w);
    let notPerson = lex.notPeople.has(w);
    let business = lex.businessWords.has(w);
    const dash = w.search(/[-\u2010]/);
    if (dash > 0) {
      // Jean-Luc, Al-Sayed, Min-jun: a name if a part is one; English only if every part is.
      const parts = w.split(/[-\u2010]/);
      first ||= parts.some((p) => lex.firstNames.has(p));
      last ||= parts.some((p) => lex.lastNames.has(p) || PARTICLES.has(p));
      english = parts.every((p) => lex.englishWords.has(p));
      notPerson ||= parts.every((p) => lex.notPeople.has(p));
      business ||= parts.every((p) => lex.businessWords.has(p));
    }
    const surnameShape = NAME_PREFIX.test(w) && w.length > 3 && !english;
    return {
      first,
      last,
      notPerson,
      business,
      english,
      particle: PARTICLES.has(w),
      title: TITLES.has(w),
      surnameShape,
    };
  }

  /** Directory names, folded: any case, accents, NBSP or hyphen between the words. */
  private directoryPass(tokens: readonly Token[], taken: Uint8Array, hits: NameHit[]): void {
    if (this.directory.size === 0) return;
    for (let i = 0; i < tokens.length; i++) {
      const words = tokens[i]!.folded.split(/[-\u2010'’]/);
      const candidates = this.directory.get(words[0]!);
      if (!candidates) continue;
      for (const name of candidates) {
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
      this.chunk(tokens, kinds, i, j, found, singles);
      i = j + 1;
    }
    // Lists: a lone word joined by a comma or "and" to a name found next to it is a name too
    // ("Kofi Mensah, Ngozi and Ama"), when it has a name's shape and is no English or place word.
    const isName = new Uint8Array(tokens.length);
    for (const f of found) for (let k = f.from; k <= f.to; k++) isName[k] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (const single of pass === 0 ? singles : [...singles].reverse()) {
        if (isName[single.from]) continue;
        if (single.from === single.to) {
          const k = kinds[single.from]!;
          if (k.english && !k.first && !k.last) continue;
          if (k.notPerson && !k.first) continue;
        }
        if (listNeighbour(tokens, isName, single.from, single.to)) {
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
      (tokens[from]!.sentenceStart || STRONG_CUES.has(tokens[from]!.folded) || kinds[from]!.business)
    )
      from++;
    while (to >= from && (kinds[to]!.particle || isInitial(tokens[to]!))) to--;
    if (from > to) return;
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
    let evidence = 0;
    for (const at of core) evidence += this.evidence(tokens[at]!, kinds[at]!);
    const head = kinds[core[0]!]!;
    if (head.first && !head.notPerson && evidence >= 2) found.push({ from, to, score: SCORE_FIRST_NAME });
    else if (evidence >= 2 || (evidence >= 1 && (cue === 'strong' || cue === 'title')))
      found.push({ from, to, score: cue === 'none' ? SCORE_SHAPE : SCORE_CUE });
    // Not enough on its own; a name next to it in a list decides ("Kofi Mensah and Sipho Nkosi").
    else if (evidence >= 1) singles.push({ from, to });
  }

  /** How much one word of a run says "name": 2 a known name, 1 an unknown word, 0 an English word. */
  private evidence(t: Token, k: Kind): number {
    if (k.first || k.surnameShape) return 2;
    if (k.last) return k.english || k.notPerson ? 1 : 2;
    if (k.english || k.notPerson || k.business) return 0;
    // An unknown all-capitals word is more likely an acronym (ACME, SAP) than a name.
    return t.shape === 'upper' ? 0 : 1;
  }

  /** Tokens of `[from, to]` inside a known multi-word place or organisation (`Kuala Lumpur`). */
  private phraseVetoes(tokens: readonly Token[], from: number, to: number): Set<number> {
    const out = new Set<number>();
    const longest = this.lexicon.longestPhrase;
    for (let i = from; i < to; i++) {
      let phrase = tokens[i]!.folded;
      for (let j = i + 1; j <= to && j - i < longest; j++) {
        phrase += ` ${tokens[j]!.folded}`;
        if (this.lexicon.notPeoplePhrases.has(phrase)) for (let k = i; k <= j; k++) out.add(k);
      }
    }
    return out;
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
        t.folded.length >= 2
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
  const gap = tokens[at]!.gapBefore;
  // "Regards,\nMarisol"
  if (at === 0) return 'none';
  const prev = tokens[at - 1]!;
  if (kinds[at - 1]!.title) return 'title';
  if (!/^[ \t\u00a0\u202f\u2007]*[,:]?[ \t\u00a0\u202f\u2007\r\n]*$/.test(gap)) return 'none';
  if (!STRONG_CUES.has(prev.folded)) return 'none';
  if (/[\r\n]/.test(gap) && !/^(?:regards|sincerely|cheers|thanks)$/.test(prev.folded)) return 'none';
  return WEAK_CUES.has(prev.folded) ? 'weak' : 'strong';
}

/** Whether the words `[from, to]` are joined by a comma or "and" to a name on either side. */
function listNeighbour(tokens: readonly Token[], isName: Uint8Array, from: number, to: number): boolean {
  const joinedLeft = (i: number) => {
    // token i is joined to token i-1 by ", " or " and "
    const gap = tokens[i]!.gapBefore;
    if (i === 0) return -1;
    if (LIST_GAP.test(gap)) return i - 1;
    if (SPACE_GAP.test(gap) && LIST_WORDS.has(tokens[i - 1]!.folded) && i >= 2) {
      const g = tokens[i - 1]!.gapBefore;
      if (SPACE_GAP.test(g) || LIST_GAP.test(g)) return i - 2;
    }
    return -1;
  };
  const left = joinedLeft(from);
  if (left >= 0 && isName[left]) return true;
  for (let r = to + 1; r < tokens.length && r <= to + 2; r++) {
    if (joinedLeft(r) === to && isName[r]) return true;
  }
  return false;
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

function shapeOf(word: string): Shape {
  const first = word[0]!;
  const upper = first.toUpperCase();
  const lower = first.toLowerCase();
  if (upper === lower) return 'none';
  if (first === lower) return 'lower';
  const letters = word.replace(/[^\p{L}]/gu, '');
  if (letters.length >= 2 && letters === letters.toUpperCase()) return 'upper';
  return 'cap';
}

/** Characters that make a word part of an identifier, a path or an address rather than prose. */
const CODE_NEIGHBOUR = /[\p{N}_@/\\#$=<>[\]{}]/u;
const WORD_CHAR = /[\p{L}\p{N}]/u;
const SENTENCE_END = /[.!?:;\n\r"“(\-*•]\s*$/;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let prevEnd = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m !== null; m = TOKEN.exec(text)) {
    const start = m.index;
    let end = start + m[0].length;
    // A possessive is not part of the name: "Marisol's" → "Marisol".
    if (end - start > 3 && /['’][sS]$/.test(m[0])) end -= 2;
    const before = text[start - 1] ?? ' ';
    const after = text[end] ?? ' ';
    const code =
      CODE_NEIGHBOUR.test(before) ||
      CODE_NEIGHBOUR.test(after) ||
      (before === '.' && WORD_CHAR.test(text[start - 2] ?? ' ')) ||
      (after === '.' && WORD_CHAR.test(text[end + 1] ?? ' '));
    const gapStart = Math.max(prevEnd, start - 4);
    const gapBefore = text.slice(gapStart, start);
    const context = text.slice(Math.max(0, start - 3), start);
    const sentenceStart = out.length === 0 || SENTENCE_END.test(context) || /\n\s*$/.test(context);
    out.push({
      start,
      end,
      folded: foldWord(text.slice(start, end)),
      shape: shapeOf(m[0]),
      code,
      gapBefore: start - prevEnd > 4 ? `${gapBefore}…` : gapBefore,
      sentenceStart,
    });
    prevEnd = start + m[0].length;
  }
  return out;
}
