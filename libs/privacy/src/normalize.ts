/**
 * Normalisation before detection. Values are disguised, on purpose or by the tools that produced the
 * text, in ways a pattern written for plain ASCII does not see: zero-width characters or soft hyphens
 * inside a value, NBSP between its groups, full-width digits and `＠`, Cyrillic or Greek letters that
 * look Latin, percent- and HTML-encoded `@`. The detectors read a normalised copy; every normalised
 * position maps back to the original characters it came from, so a value is replaced WHOLE in the
 * original text (no `marta.kl\u200b` left beside a placeholder) and restoring gives back exactly what
 * was sent.
 *
 * What is done, in this order, per character (or per escape sequence):
 * 1. `%XX` escapes are decoded (letters, digits, `@ . - + _` and space, or one whole UTF-8 sequence), and HTML character
 *    references (`&#64;`, `&#x40;`, `&commat;`, `&amp;`, … see {@link NAMED_ENTITIES}); two levels
 *    deep (`%2540`, `&amp;#64;`), not more.
 * 2. Unicode NFKC (full-width and other compatibility forms, ligatures, NBSP and the other spaces).
 * 3. Format characters are removed: `\p{Cf}` (ZWSP, ZWJ, ZWNJ, soft hyphen, BOM, bidi controls,
 *    word joiner, tags), the combining grapheme joiner and variation selectors.
 * 4. Hyphen and dash look-alikes (U+2010–U+2015, U+2212) become `-`; decimal digits of every script
 *    (Arabic-Indic, Devanagari, …) become ASCII digits.
 * 5. Homoglyphs: Cyrillic and Greek letters that look like Latin ones become those Latin letters, but
 *    only inside a run of non-space characters that also holds a Latin letter (`mаrta@example.com`
 *    with a Cyrillic `а`). Text written in Cyrillic or Greek is left as it is, so its own names and
 *    the directory's still match.
 *
 * Cost: one regular-expression test for text that needs nothing (plain ASCII without `%XX` or `&…;`),
 * otherwise one pass with a per-character table; linear in the text.
 */

/** A text as the detectors read it, and the way back to the original's offsets. */
export interface NormalizedText {
  /** The normalised text the detectors read. */
  readonly text: string;
  /** True when `text` has the same offsets as the original (it may still differ by 1:1 foldings). */
  readonly sameOffsets: boolean;
  /**
   * The original span `[start, end)` covering the normalised span `[start, end)` whole: a span that
   * starts or ends inside an escape or an expanded character takes all of it.
   */
  toOriginal(start: number, end: number): { start: number; end: number };
}

const IDENTITY_SPAN = (start: number, end: number) => ({ start, end });

/** Plain ASCII without a percent escape or a character reference needs no work at all. */
const NEEDS_WORK = /[^\p{ASCII}]|%[0-9A-Fa-f]{2}|&[#A-Za-z]/u;

/** Where normalisation may have work: an escape's start or a non-ASCII character. */
const INTERESTING = /[%&\u0080-\uffff]/g;

const STABLE = 1;
const CHANGES = 2;
const MARK = 3;
/** Per BMP code unit, filled on first sight: STABLE, CHANGES (NFKC, removal) or MARK (joins the previous character). */
const KIND = new Uint8Array(0x10000);
const IS_MARK = /^\p{M}$/u;
const IS_FORMAT = /^[\p{Cf}\u034f\ufe00-\ufe0f]$/u;

function kindOf(c: number): number {
  let kind = KIND[c]!;
  if (kind !== 0) return kind;
  const s = String.fromCharCode(c);
  if (c >= 0xd800 && c <= 0xdfff)
    kind = CHANGES; // astral: decided per code point
  else if (IS_FORMAT.test(s)) kind = CHANGES;
  else if (IS_MARK.test(s) || (c >= 0x1160 && c <= 0x11ff))
    kind = MARK; // Hangul vowels/finals compose too
  else if (s.normalize('NFKC') !== s || DASHES.has(c) || SPACE.test(s) || DIGIT.test(s)) kind = CHANGES;
  else kind = STABLE;
  KIND[c] = kind;
  return kind;
}

const SPACE = /^\p{Zs}$/u;
const DASHES = new Set([0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xfe58, 0xfe63]);

/** {@link foldCluster} of single code units, remembered: disguised text repeats a few characters. */
const FOLDED_UNITS = new Map<number, string>();

/** NFKC, then format characters removed and dashes folded; for one cluster (a character and its marks). */
function foldCluster(cluster: string): string {
  if (cluster.length !== 1) return foldClusterOnce(cluster);
  const c = cluster.charCodeAt(0);
  let folded = FOLDED_UNITS.get(c);
  if (folded === undefined) FOLDED_UNITS.set(c, (folded = foldClusterOnce(cluster)));
  return folded;
}

function foldClusterOnce(cluster: string): string {
  const nfkc = cluster.normalize('NFKC');
  let out = '';
  for (const ch of nfkc) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out += ch;
    else if (DASHES.has(cp)) out += '-';
    else if (SPACE.test(ch))
      out += ' '; // the spaces NFKC keeps (U+1680)
    else if (DIGIT.test(ch)) out += String(digitValue(cp));
    else if (!IS_FORMAT.test(ch) && !(cp >= 0xe0100 && cp <= 0xe01ef)) out += ch;
  }
  return out;
}

const DIGIT = /^\p{Nd}$/u;

/**
 * The value of a decimal digit of any script (Arabic-Indic `٥`, Devanagari `५`, …), which NFKC leaves
 * as it is: Unicode keeps every script's digits as runs of ten code points from 0 to 9, so the value
 * is the distance from the start of the run, modulo ten (runs may abut).
 */
function digitValue(cp: number): number {
  let start = cp;
  while (start > 0 && DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/**
 * Named character references decoded, beyond the numeric ones: those that spell characters of
 * personal values (`@`, `.`, `-`, `+`, digits' neighbours), spaces and invisible characters.
 */
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  ensp: '\u2002',
  emsp: '\u2003',
  thinsp: '\u2009',
  shy: '\u00ad',
  zwj: '\u200d',
  zwnj: '\u200c',
  lrm: '\u200e',
  rlm: '\u200f',
  commat: '@',
  period: '.',
  hyphen: '-',
  dash: '-',
  minus: '-',
  plus: '+',
  lowbar: '_',
  num: '#',
  percnt: '%',
  colon: ':',
  semi: ';',
  comma: ',',
  sol: '/',
  bsol: '\\',
  excl: '!',
  quest: '?',
  equals: '=',
  lpar: '(',
  rpar: ')',
  lsqb: '[',
  rsqb: ']',
  lbrack: '[',
  rbrack: ']',
  lcub: '{',
  rcub: '}',
  dollar: '$',
  ast: '*',
  apostrophe: "'",
  grave: '`',
  verbar: '|',
  tilde: '~',
  hat: '^',
};

const HEX = (c: number) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

/**
 * The ASCII characters a `%XX` escape is decoded to: those values are written with (letters, digits,
 * `@ . - + _`, space). Others stay encoded: `%` is a legal character of an address's local part, and
 * decoding `a%123@…` to a control character would cut the address in two.
 */
const PERCENT_ASCII = (() => {
  const table = new Uint8Array(128);
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@.-+_ ')
    table[ch.charCodeAt(0)] = 1;
  return table;
})();

/** The byte of a `%XX` escape at `i`, or -1. */
function percentByte(text: string, i: number): number {
  if (text.charCodeAt(i) !== 37) return -1;
  const hi = HEX(text.charCodeAt(i + 1));
  const lo = HEX(text.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** A percent-escaped ASCII byte or whole UTF-8 sequence at `i`: the decoded text and where it ends. */
function decodePercent(text: string, i: number): { value: string; end: number } | null {
  const first = percentByte(text, i);
  if (first < 0) return null;
  if (first < 0x80)
    return PERCENT_ASCII[first] === 1 ? { value: String.fromCharCode(first), end: i + 3 } : null;
  const length =
    first >= 0xf0 && first <= 0xf4 ? 4 : first >= 0xe0 ? 3 : first >= 0xc2 && first < 0xe0 ? 2 : 0;
  if (length === 0) return null;
  let cp = first & (length === 2 ? 0x1f : length === 3 ? 0x0f : 0x07);
  for (let k = 1; k < length; k++) {
    const b = percentByte(text, i + 3 * k);
    if (b < 0x80 || b > 0xbf) return null;
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((length === 3 && cp < 0x800) || (length === 4 && (cp < 0x10000 || cp > 0x10ffff))) return null;
  if (cp >= 0xd800 && cp <= 0xdfff) return null;
  return { value: String.fromCodePoint(cp), end: i + 3 * length };
}

/** An HTML character reference at `i` (`&…;`): the decoded text and where it ends. */
function decodeEntity(text: string, i: number): { value: string; end: number } | null {
  const semi = text.indexOf(';', i + 2);
  if (semi === -1 || semi - i > 33) return null;
  const body = text.slice(i + 1, semi);
  let cp = -1;
  if (body.charCodeAt(0) === 35) {
    const hex = body.charCodeAt(1) === 120 || body.charCodeAt(1) === 88;
    const digits = body.slice(hex ? 2 : 1);
    if (!(hex ? /^[0-9A-Fa-f]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) return null;
    cp = Number.parseInt(digits, hex ? 16 : 10);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    return { value: String.fromCodePoint(cp), end: semi + 1 };
  }
  const named = NAMED_ENTITIES[body] ?? NAMED_ENTITIES[body.toLowerCase()];
  return named === undefined ? null : { value: named, end: semi + 1 };
}

/** Whether a code unit is an invisible format character (removed by normalisation). */
function isFormat(c: number): boolean {
  return c >= 0x80 && kindOf(c) === CHANGES && IS_FORMAT.test(String.fromCharCode(c));
}

/**
 * A percent escape or character reference at `i`, read through invisible characters inside it
 * (`&#\u200b64;`, `%4\u00ad0`): they would otherwise keep the escape from being decoded once they are
 * removed. Returns the decoded text and the original end.
 */
function decodeEscape(text: string, i: number, percent: boolean): { value: string; end: number } | null {
  const limit = percent ? 12 : 34;
  let compact = '';
  const ends: number[] = [];
  for (let j = i; j < text.length && compact.length < limit; j++) {
    const c = text.charCodeAt(j);
    if (isFormat(c)) continue;
    if (percent ? c !== 37 && HEX(c) < 0 : c === 32 || c === 10 || c === 60) break;
    compact += text[j];
    ends.push(j + 1);
  }
  const decoded = percent ? decodePercent(compact, 0) : decodeEntity(compact, 0);
  return decoded ? { value: decoded.value, end: ends[decoded.end - 1]! } : null;
}

/**
 * {@link decodeEscape}, and once more where the escape was itself escaped (`%2540` → `%40` → `@`,
 * `&amp;#64;` → `&#64;` → `@`): double encoding is what a URL inside HTML or a re-encoded query gets.
 */
function decodeTwice(text: string, i: number, percent: boolean): { value: string; end: number } | null {
  if (percent && text.charCodeAt(i + 1) === 50 && text.charCodeAt(i + 2) === 53) {
    // "%25": a percent sign, decoded only when a valid escape follows it.
    const inner = decodePercent(`%${text.slice(i + 3, i + 12)}`, 0);
    return inner ? { value: inner.value, end: i + 3 + inner.end - 1 } : null;
  }
  const once = decodeEscape(text, i, percent);
  if (!once || percent || once.value !== '&') return once;
  const inner = decodeEntity(`&${text.slice(once.end, once.end + 33)}`, 0);
  return inner ? { value: inner.value, end: once.end + inner.end - 1 } : once;
}

/**
 * Cyrillic and Greek letters that render like Latin ones (the confusables of Unicode TR39 that matter
 * for addresses and names), folded only in mixed-script runs.
 */
const HOMOGLYPHS: ReadonlyMap<number, number> = new Map(
  (
    'аa вb еe һh іi јj кk мm нh оo рp сc тt уy хx ѕs ԁd ԛq ԝw ӏl ɡg ' +
    'АA ВB ЕE КK МM НH ОO РP СC ТT ХX УY ІI ЈJ ЅS ԚQ ԜW ӀI ' +
    'αa βb εe ιi κk νv οo ρp τt υu χx ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX'
  )
    .split(' ')
    .map((pair) => [pair.charCodeAt(0), pair.charCodeAt(1)] as const),
);
const HAS_HOMOGLYPH = /[\u0251-\u0261\u0370-\u03ff\u0400-\u052f]/;
/** A run of non-space characters that holds a homoglyph. */
const RUN_WITH_HOMOGLYPH = /[^\s]*[\u0251-\u0261\u0370-\u03ff\u0400-\u052f][^\s]*/g;
const LATIN_LETTER = /[A-Za-z]/;

function foldHomoglyphs(text: string): string {
  if (!HAS_HOMOGLYPH.test(text)) return text;
  let out = '';
  let cursor = 0;
  RUN_WITH_HOMOGLYPH.lastIndex = 0;
  for (let m = RUN_WITH_HOMOGLYPH.exec(text); m !== null; m = RUN_WITH_HOMOGLYPH.exec(text)) {
    const run = m[0];
    if (!LATIN_LETTER.test(run)) continue;
    let folded = '';
    for (let k = 0; k < run.length; k++) {
      const c = run.charCodeAt(k);
      const latin = HOMOGLYPHS.get(c);
      folded += latin === undefined ? run[k] : String.fromCharCode(latin);
    }
    out += text.slice(cursor, m.index) + folded;
    cursor = m.index + run.length;
  }
  return cursor === 0 ? text : out + text.slice(cursor);
}

/**
 * The normalised text of `text` (see the file comment) with its offset map. Returns a shared identity
 * result for text that needs no work.
 */
export function normalizeForDetection(text: string): NormalizedText {
  if (!NEEDS_WORK.test(text)) return { text, sameOffsets: true, toOriginal: IDENTITY_SPAN };
  // Edits, in order: [normStart, normEnd, origStart, origEnd]; between them offsets shift by a constant.
  const edits: number[] = [];
  const parts: string[] = [];
  let outLength = 0;
  let copyFrom = 0;
  const replace = (start: number, end: number, value: string) => {
    if (start > copyFrom) {
      parts.push(text.slice(copyFrom, start));
      outLength += start - copyFrom;
    }
    edits.push(outLength, outLength + value.length, start, end);
    parts.push(value);
    outLength += value.length;
    copyFrom = end;
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (c < 0x80 && c !== 37 && c !== 38) {
      // Plain ASCII needs nothing: jump to the next character that may (a regex scans much faster).
      INTERESTING.lastIndex = i;
      const next = INTERESTING.exec(text);
      if (next === null) break;
      i = next.index;
      c = text.charCodeAt(i);
      // A combining mark composes with the ASCII character before it ("e\u0301").
      if (c >= 0x300 && kindOf(c) === MARK && i - 1 >= copyFrom) c = text.charCodeAt(--i);
    }
    if (c < 0x80) {
      if (c === 37 || c === 38) {
        const decoded = decodeTwice(text, i, c === 37);
        if (decoded) {
          replace(i, decoded.end, foldCluster(decoded.value));
          i = decoded.end;
          continue;
        }
      }
      // An ASCII letter followed by a combining mark composes with it ("e\u0301").
      const next = text.charCodeAt(i + 1);
      if (next < 0x300 || Number.isNaN(next) || kindOf(next) !== MARK) {
        i++;
        continue;
      }
    } else if (kindOf(c) === STABLE) {
      const next = text.charCodeAt(i + 1);
      if (next < 0x300 || Number.isNaN(next) || kindOf(next) !== MARK) {
        i++;
        continue;
      }
    }
    // A cluster: one code point and the marks that follow it.
    let j = i + (c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1);
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d < 0x300 || kindOf(d) !== MARK) break;
      j++;
    }
    const cluster = text.slice(i, j);
    const folded = foldCluster(cluster);
    if (folded !== cluster) replace(i, j, folded);
    i = j;
  }
  if (edits.length === 0) {
    const folded = foldHomoglyphs(text);
    return { text: folded, sameOffsets: true, toOriginal: IDENTITY_SPAN };
  }
  if (copyFrom < n) parts.push(text.slice(copyFrom));
  return new EditedText(foldHomoglyphs(parts.join('')), edits);
}

class EditedText implements NormalizedText {
  readonly sameOffsets = false;
  constructor(
    readonly text: string,
    private readonly edits: readonly number[],
  ) {}

  toOriginal(start: number, end: number): { start: number; end: number } {
    return { start: this.map(start, false), end: this.map(end - 1, true) };
  }

  /** The original offset of normalised character `p`: its first code unit, or (`after`) one past its last. */
  private map(p: number, after: boolean): number {
    const edits = this.edits;
    // The last edit whose normalised start is at or before p (binary search over quadruples).
    let lo = 0;
    let hi = edits.length / 4 - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (edits[mid * 4]! <= p) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // A deletion (empty normalised range) found here lies before the character at p: its shift applies.
    if (found < 0) return after ? p + 1 : p;
    const normEnd = edits[found * 4 + 1]!;
    const origStart = edits[found * 4 + 2]!;
    const origEnd = edits[found * 4 + 3]!;
    if (p < normEnd) return after ? origEnd : origStart; // inside an edit: all of it
    const shifted = p + (origEnd - normEnd);
    return after ? shifted + 1 : shifted;
  }
}

/** The identity: `text` as it is (for a detector with normalisation off). */
export function normalizeNothing(text: string): NormalizedText {
  return { text, sameOffsets: true, toOriginal: IDENTITY_SPAN };
}
