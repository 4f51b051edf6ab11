import { WordFlag } from './names-lexicon.js';
import type { Token } from './names-tokenize.js';

// The context rules of the name recogniser: which words start or continue a run of name words, the
// cue before a word (title, greeting, verb of address, sign-off), lists, and directory names.

export const SPACE_GAP = /^[ \t\u00a0\u202f\u2007]$/;
const INITIAL_GAP = /^\.[ \t\u00a0\u202f\u2007]$/;
const LIST_GAP = /^[ \t\u00a0\u202f\u2007]*[,;&/][ \t\u00a0\u202f\u2007]*$/;
const TITLE_GAP = /^\.?[ \t\u00a0\u202f\u2007]+$/;
const CUE_GAP = /^[ \t\u00a0\u202f\u2007]*[,:]?[ \t\u00a0\u202f\u2007\r\n]*$/;

export interface Kind {
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

export function isInitial(t: Token): boolean {
  return t.end - t.start === 1 && t.shape === 'cap';
}

export function isPlainWord(k: Kind): boolean {
  return (k.english || k.notPerson || k.business) && !k.first && !k.last && !k.particle && !k.surnameShape;
}

export function startsChunk(t: Token, k: Kind): boolean {
  if (t.code) return false;
  return t.shape === 'cap' || t.shape === 'upper' || (k.particle && t.shape !== 'none');
}

export function continuesChunk(tokens: readonly Token[], kinds: readonly Kind[], j: number): boolean {
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
export function cueBefore(
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
export function listNeighbour(
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

export function matchDirectoryName(tokens: readonly Token[], i: number, name: readonly string[]): number {
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
