import { FOLD_LIMIT, FOLD_TABLE, foldWord, WordFlag, type NamesLexicon } from './names-lexicon.js';
import { isAsciiLetterCode, isDigitCode, isNonAsciiWordCode, isWordCode } from './text-scan.js';

// The name recogniser's words: one pass over the code units that hashes each word for the lexicon
// and keeps only the words that may play a part in a name, with their shape and the gap before them.

export type Shape = 'cap' | 'upper' | 'lower' | 'none';

/** A word of the text that may play a part in a name (tokenize drops the others). */
export class Token {
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

function nextCharAfter(text: string, from: number): number {
  let p = from;
  while (p < text.length && p < from + 8 && isBlankCode(text.charCodeAt(p))) p++;
  return p < text.length ? text.charCodeAt(p) : -1;
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

/** Skip words that can play no part: lowercase English or place words that are no cue, particle or title. */
const PLAIN = WordFlag.ENGLISH | WordFlag.NOT_PERSON | WordFlag.BUSINESS;
const SPECIAL = WordFlag.PARTICLE | WordFlag.TITLE | WordFlag.CUE | WordFlag.LIST | WordFlag.SIGN_OFF;

/**
 * The words of `text` that may play a part in a name, in order. One pass over the code units: each
 * word's key is hashed as it is scanned, and a lowercase ordinary word (most of any text) is dropped
 * there without allocating anything. The passes tell adjacent words by their gap, which then holds
 * the dropped word's letters: no rule joins across it.
 */
export function tokenize(text: string, lexicon: NamesLexicon, keep: ReadonlySet<number>): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let prevRawEnd = 0;
  let rawIndex = 0;
  let i = 0;
  const w = newWordScan();
  while (i < n) {
    const c0 = text.charCodeAt(i);
    if (!((c0 >= 97 && c0 <= 122) || (c0 >= 65 && c0 <= 90) || (c0 >= 0xc0 && isNonAsciiWordCode(c0)))) {
      i++;
      continue;
    }
    const start = i;
    scanWord(text, start, w);
    i = w.rawEnd;
    let h1 = w.h1;
    let h2 = w.h2;
    const { firstCase, letters, lowers, camelAt, hyphenated, apostropheAt } = w;
    const rawEnd = i;
    let end = rawEnd;
    if (
      apostropheAt === rawEnd - 2 &&
      rawEnd - start > 3 &&
      (text.charCodeAt(rawEnd - 1) | 32) === 115 // s
    ) {
      end = apostropheAt;
      h1 = w.h1BeforeApostrophe;
      h2 = w.h2BeforeApostrophe;
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
    const code = isCode(text, start, rawEnd, camelAt);
    const sentenceStart = opensSentenceAt(text, start, index);
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

/** What {@link scanWord} found out about one word; one object per tokenize call, rewritten per word. */
interface WordScan {
  rawEnd: number;
  h1: number;
  h2: number;
  firstCase: number;
  letters: number;
  lowers: number;
  camelAt: number;
  hyphenated: boolean;
  apostropheAt: number;
  h1BeforeApostrophe: number;
  h2BeforeApostrophe: number;
}

/** Scans the word at `start` (its first code unit a letter) into `into`: its end, hashes, case and joints. */
function scanWord(text: string, start: number, into: WordScan): void {
  const n = text.length;
  let i = start;
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
  into.rawEnd = i;
  into.h1 = h1;
  into.h2 = h2;
  into.firstCase = firstCase;
  into.letters = letters;
  into.lowers = lowers;
  into.camelAt = camelAt;
  into.hyphenated = hyphenated;
  into.apostropheAt = apostropheAt;
  into.h1BeforeApostrophe = h1BeforeApostrophe;
  into.h2BeforeApostrophe = h2BeforeApostrophe;
}

function newWordScan(): WordScan {
  return {
    rawEnd: 0,
    h1: 0,
    h2: 0,
    firstCase: 0,
    letters: 0,
    lowers: 0,
    camelAt: -1,
    hyphenated: false,
    apostropheAt: -1,
    h1BeforeApostrophe: 0,
    h2BeforeApostrophe: 0,
  };
}

/** Whether the word `[start, rawEnd)` is part of an identifier, a path or an address rather than prose. */
function isCode(text: string, start: number, rawEnd: number, camelAt: number): boolean {
  const n = text.length;
  const before = start > 0 ? text.charCodeAt(start - 1) : 32;
  const after = rawEnd < n ? text.charCodeAt(rawEnd) : 32;
  return (
    (camelAt >= 0 && !SURNAME_PREFIX.test(text.slice(start, start + camelAt))) ||
    isCodeNeighbour(before) ||
    isCodeNeighbour(after) ||
    (before === 46 && start >= 2 && isWordCode(text.charCodeAt(start - 2))) ||
    (after === 46 && rawEnd + 1 < n && isWordCode(text.charCodeAt(rawEnd + 1)))
  );
}

/** Whether the word at `start` (the `index`-th of the text) opens a sentence, a list item, a quote or a line. */
function opensSentenceAt(text: string, start: number, index: number): boolean {
  let p = start - 1;
  while (p >= start - 3 && p >= 0 && isBlankCode(text.charCodeAt(p))) p--;
  return index === 0 || p < 0 || (p >= start - 3 && opensSentence(text.charCodeAt(p)));
}
