import type { EntityType } from './entity.js';
import { equalsLower, hashLower, isWordCode, lowerCode } from './text-scan.js';

/** A term of the dictionary matcher: people of the org chart, deny-list phrases, directory ids. */
export interface DictionaryTerm {
  readonly text: string;
  readonly type: EntityType;
  readonly score: number;
}

interface CompiledTerm {
  readonly tokens: readonly string[];
  /** Separator between token i and i+1 in the term; `null` means "any run of spaces or tabs". */
  readonly separators: ReadonlyArray<string | null>;
  readonly type: EntityType;
  readonly score: number;
}

export interface DictionaryMatch {
  readonly type: EntityType;
  readonly start: number;
  readonly end: number;
  readonly score: number;
}

const APOSTROPHE = 39;
const RIGHT_QUOTE = 0x2019;
const HYPHEN = 45;
const UNDERSCORE = 95;

/** Inner joiners that keep a token together when a word character follows: O'Brien, Al-Sayed, u-1001. */
function isJoiner(c: number): boolean {
  return c === APOSTROPHE || c === RIGHT_QUOTE || c === HYPHEN || c === UNDERSCORE;
}

/** Hash of the lowercase form of the token that the last `tokenEnd` call scanned. */
let lastTokenHash = 0;

/** End of the token starting at `start` (a word character); sets `lastTokenHash` on the way. */
function tokenEnd(text: string, start: number): number {
  const n = text.length;
  let h = lowerCode(text.charCodeAt(start));
  let j = start + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (isWordCode(c)) {
      h = ((h << 5) - h + lowerCode(c)) | 0;
      j++;
    } else if (isJoiner(c) && j + 1 < n && isWordCode(text.charCodeAt(j + 1))) {
      h = ((h << 5) - h + c) | 0;
      h = ((h << 5) - h + lowerCode(text.charCodeAt(j + 1))) | 0;
      j += 2;
    } else break;
  }
  lastTokenHash = h;
  return j;
}

function tokenize(text: string): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  for (let i = 0; i < text.length;) {
    if (isWordCode(text.charCodeAt(i))) {
      const end = tokenEnd(text, i);
      out.push({ start: i, end });
      i = end;
    } else i++;
  }
  return out;
}

function isBlank(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** Length of a possessive suffix ('s / ’s) at the end of a token, or 0. */
function possessive(text: string, start: number, end: number): number {
  if (end - start <= 2) return 0;
  const q = text.charCodeAt(end - 2);
  return (q === APOSTROPHE || q === RIGHT_QUOTE) && lowerCode(text.charCodeAt(end - 1)) === 115 ? 2 : 0;
}

/**
 * Whole-token, case-insensitive matcher for a fixed set of phrases: one pass over the text's tokens
 * with an allocation-free hash lookup on the first token, so its cost does not grow with the size of
 * the directory. Longer phrases win over their prefixes; a possessive `'s` is not part of the match.
 */
export class DictionaryMatcher {
  private readonly byFirstToken = new Map<number, CompiledTerm[]>();
  readonly size: number;

  constructor(terms: Iterable<DictionaryTerm>) {
    let size = 0;
    for (const term of terms) {
      const spans = tokenize(term.text);
      if (spans.length === 0) continue;
      const tokens = spans.map((s) => term.text.slice(s.start, s.end).toLowerCase());
      const separators: Array<string | null> = [];
      for (let i = 1; i < spans.length; i++) {
        const sep = term.text.slice(spans[i - 1]!.end, spans[i]!.start);
        separators.push(/^[ \t]+$/.test(sep) ? null : sep.toLowerCase());
      }
      const compiled: CompiledTerm = { tokens, separators, type: term.type, score: term.score };
      const key = hashLower(term.text, spans[0]!.start, spans[0]!.end);
      const list = this.byFirstToken.get(key) ?? [];
      list.push(compiled);
      list.sort((a, b) => b.tokens.length - a.tokens.length);
      this.byFirstToken.set(key, list);
      size++;
    }
    this.size = size;
  }

  /** Non-overlapping matches, left to right. */
  /** The lowercase first token of every term: a match starts where one of them occurs. */
  firstTokens(): string[] {
    const out: string[] = [];
    for (const list of this.byFirstToken.values()) for (const term of list) out.push(term.tokens[0]!);
    return out;
  }

  match(text: string): DictionaryMatch[] {
    const out: DictionaryMatch[] = [];
    if (this.size === 0) return out;
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (!isWordCode(text.charCodeAt(i))) {
        i++;
        continue;
      }
      const end = tokenEnd(text, i);
      const hit = this.matchAt(text, i, end, lastTokenHash);
      if (hit) {
        out.push(hit);
        i = hit.end;
      } else i = end;
    }
    return out;
  }

  private matchAt(text: string, start: number, end: number, hash: number): DictionaryMatch | null {
    let candidates = this.byFirstToken.get(hash);
    let firstEnd = end;
    if (!candidates) {
      const p = possessive(text, start, end);
      if (p === 0) return null;
      firstEnd = end - p;
      candidates = this.byFirstToken.get(hashLower(text, start, firstEnd));
      if (!candidates) return null;
    }
    for (const term of candidates) {
      if (!equalsLower(text, start, firstEnd, term.tokens[0]!)) continue;
      if (term.tokens.length === 1) return { type: term.type, start, end: firstEnd, score: term.score };
      if (firstEnd !== end) continue;
      let cursor = end;
      let matchEnd = -1;
      for (let k = 1; k < term.tokens.length; k++) {
        // separator, then the next token
        let t = cursor;
        while (t < text.length && !isWordCode(text.charCodeAt(t))) t++;
        if (t >= text.length) break;
        const want = term.separators[k - 1] ?? null;
        if (want === null ? !isBlank(text, cursor, t) : !equalsLower(text, cursor, t, want)) break;
        const tEnd = tokenEnd(text, t);
        const expected = term.tokens[k]!;
        const isLast = k === term.tokens.length - 1;
        if (equalsLower(text, t, tEnd, expected)) cursor = tEnd;
        else if (isLast && possessive(text, t, tEnd) && equalsLower(text, t, tEnd - 2, expected))
          cursor = tEnd - 2;
        else break;
        if (isLast) matchEnd = cursor;
      }
      if (matchEnd !== -1) return { type: term.type, start, end: matchEnd, score: term.score };
    }
    return null;
  }
}
