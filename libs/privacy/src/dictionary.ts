import type { EntityType } from './entity.js';
import { equalsLower, FOLD_LIMIT, hashLower, isWordCode, lowerCode } from './text-scan.js';

/** A term of the dictionary matcher: people of the org chart, deny-list phrases, directory ids. */
export interface DictionaryTerm {
  readonly text: string;
  readonly type: EntityType;
  readonly score: number;
}

/** A node of the token trie. Its children live in the matcher's one edge map (no map per node). */
interface TrieNode {
  readonly id: number;
  hasChildren: boolean;
  /** The term that ends here (the first one added with these tokens and separators). */
  term: { readonly type: EntityType; readonly score: number } | undefined;
}

/** The edge map's key of a node's child by the hash of its token's lowercase form. */
const edgeKey = (node: TrieNode, hash: number): number => (hash ^ (node.id * 0x45d9f3b)) | 0;

interface TrieEdge {
  readonly parent: TrieNode;
  /** Lowercase token. */
  readonly token: string;
  /** Separator before this token; `null` means "any run of spaces or tabs" (and nothing before the first). */
  readonly separator: string | null;
  readonly node: TrieNode;
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

/** End of the token starting at `start`, as {@link tokenEnd} finds it, without hashing it. */
function skipToken(text: string, start: number): number {
  return restOfToken(text, start + 1);
}

/** End of the token that goes on at `j` (a position just after a word unit of it). */
function restOfToken(text: string, j: number): number {
  const n = text.length;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (isWordCode(c)) j++;
    else if (isJoiner(c) && j + 1 < n && isWordCode(text.charCodeAt(j + 1))) j += 2;
    else break;
  }
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

/**
 * How many ASCII code units (letters in either case count twice, digits once) may start a term
 * before the prefilter stops paying: measured on the 4 KB bench prompt with terms starting with the
 * most frequent letters first, the prefilter took 18 / 27 / 41 µs against the walk's 30 / 32 / 51 µs
 * at 3 / 6 / 9 letters, and 55 against 36 µs at 12. Past it nearly every token is a candidate, and a
 * regular expression run per token costs more than the walk.
 */
const PREFILTER_MAX_ASCII = 16;

/** Per lowercase unit below FOLD_LIMIT, the word units that fold to it (itself included). */
const FOLDS_TO: ReadonlyMap<number, readonly number[]> = (() => {
  const map = new Map<number, number[]>();
  for (let unit = 0; unit < FOLD_LIMIT; unit++) {
    if (!isWordCode(unit)) continue;
    const lower = lowerCode(unit);
    let list = map.get(lower);
    if (!list) map.set(lower, (list = []));
    list.push(unit);
  }
  return map;
})();

/**
 * Compiled prefilters by their units, shared by all matchers. `lastIndex` is set before each use and
 * a match runs to its end synchronously, so sharing one expression is safe.
 */
const PREFILTERS = new Map<string, RegExp>();
const PREFILTER_CACHE_SIZE = 256;

/** Whether the walk of {@link DictionaryMatcher.matchWalking}, restarted at `floor`, starts a token at `q`. */
function tokenStartAt(text: string, q: number, floor: number): boolean {
  if (!isWordCode(text.charCodeAt(q))) return false;
  if (q === floor) return true;
  const before = text.charCodeAt(q - 1);
  if (isWordCode(before)) return false;
  return !(q - 2 >= floor && isJoiner(before) && isWordCode(text.charCodeAt(q - 2)));
}

/** The next token start at or after `from` whose first unit `filter` accepts, or the text's length. */
function nextCandidate(text: string, from: number, floor: number, filter: RegExp): number {
  filter.lastIndex = from;
  while (filter.test(text)) {
    const q = filter.lastIndex - 1;
    if (tokenStartAt(text, q, floor)) return q;
  }
  return text.length;
}

/**
 * The first position at or after `s` where the walk (restarted at `floor` < `s`) stops: `s` itself,
 * unless `s` lies inside a token (a word unit that starts none, or a joiner between two word units),
 * and then that token's end.
 */
function walkPositionAt(text: string, s: number, floor: number): number {
  const n = text.length;
  const unit = text.charCodeAt(s);
  let j: number;
  if (isWordCode(unit)) {
    if (tokenStartAt(text, s, floor)) return s;
    j = s + 1;
  } else if (
    isJoiner(unit) &&
    s + 1 < n &&
    isWordCode(text.charCodeAt(s + 1)) &&
    s - 1 >= floor &&
    isWordCode(text.charCodeAt(s - 1))
  ) {
    j = s + 2;
  } else return s;
  return restOfToken(text, j);
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
 * Whole-token, case-insensitive matcher for a fixed set of phrases: one pass over the text's tokens,
 * walking a trie of the terms' tokens (allocation-free hash lookups), so its cost grows with the text
 * and not with the number of terms, also when thousands of terms share their first token (the values
 * of one request: SSNs of one area, addresses of one person). The longest phrase wins; a possessive
 * `'s` is not part of the match.
 */
export class DictionaryMatcher {
  private readonly root: TrieNode = { id: 0, hasChildren: false, term: undefined };
  private readonly edges = new Map<number, TrieEdge[]>();
  /**
   * The lowercase first code units of the terms: a token starting otherwise is skipped unhashed.
   * ASCII in a 128-entry table, the rest in a set: a matcher is also built per request (the values
   * of one request, masking-session.ts), where a table of every code unit cost a 64 KB buffer each.
   */
  private readonly firstAscii = new Uint8Array(128);
  private readonly firstOther = new Set<number>();
  private nodes = 1;
  private terms = 0;
  /** match's prefilter of the first units (null: the walk); built at the first match after an add. */
  private prefilter: RegExp | null | undefined;
  /** Token comparisons made by `match` so far: a count of its work, for tests of its growth. */
  comparisons = 0;

  constructor(terms: Iterable<DictionaryTerm> = []) {
    for (const term of terms) this.add(term);
  }

  /** Terms added (without a token, a term is not). */
  get size(): number {
    return this.terms;
  }

  /**
   * Adds a term after construction: a caller indexing a large directory adds in chunks and yields to
   * the event loop between them (DirectoryIndex.buildAsync). Not to be called while `match` runs.
   */
  add(term: DictionaryTerm): void {
    const spans = tokenize(term.text);
    if (spans.length === 0) return;
    this.prefilter = undefined;
    const first = lowerCode(term.text.charCodeAt(spans[0]!.start));
    if (first < 128) this.firstAscii[first] = 1;
    else this.firstOther.add(first);
    let node = this.root;
    for (let k = 0; k < spans.length; k++) {
      const span = spans[k]!;
      const token = term.text.slice(span.start, span.end).toLowerCase();
      let separator: string | null = null;
      if (k > 0) {
        const sep = term.text.slice(spans[k - 1]!.end, span.start);
        separator = /^[ \t]+$/.test(sep) ? null : sep.toLowerCase();
      }
      node = this.child(node, hashLower(term.text, span.start, span.end), token, separator);
    }
    node.term ??= { type: term.type, score: term.score };
    this.terms++;
  }

  /**
   * Non-overlapping matches, left to right. `covered` (sorted, disjoint spans) are skipped: no match
   * starts inside one, as for a caller whose detections there win over any match anyway.
   *
   * The same matches as {@link matchWalking}, found faster when few first code units start a term
   * (the values of one request, a small directory): a regular expression finds the next token that
   * may start a term, instead of a loop over every code unit of the text in between (the 4 KB bench
   * prompt: 1–2 µs instead of 21–37 for the bench directory, 12–18 instead of 21–36 for a request's
   * values). A term list whose first units cover much of the alphabet gains nothing from it and is
   * walked.
   */
  match(
    text: string,
    covered: ReadonlyArray<{ readonly start: number; readonly end: number }> = [],
  ): DictionaryMatch[] {
    if (this.size === 0) return [];
    if (this.prefilter === undefined) this.prefilter = this.buildPrefilter();
    return this.prefilter
      ? this.matchFiltered(text, covered, this.prefilter)
      : this.matchWalking(text, covered);
  }

  /**
   * The reference walk behind {@link match}: token by token over the text, each token whose first
   * unit starts a term tried against the trie. Public for the tests that hold the faster path to it.
   */
  matchWalking(
    text: string,
    covered: ReadonlyArray<{ readonly start: number; readonly end: number }> = [],
  ): DictionaryMatch[] {
    const out: DictionaryMatch[] = [];
    if (this.size === 0) return out;
    const n = text.length;
    let i = 0;
    let c = 0;
    while (i < n) {
      while (c < covered.length && covered[c]!.end <= i) c++;
      if (c < covered.length && covered[c]!.start <= i) {
        i = covered[c]!.end;
        continue;
      }
      i = isWordCode(text.charCodeAt(i)) ? this.tokenAt(text, i, out) : i + 1;
    }
    return out;
  }

  /**
   * {@link matchWalking}'s walk, skipping ahead. The walk restarts at `floor` (the text's start, a
   * match's end, a covered span's end), where a word unit starts a token; after it, a word unit
   * starts a token when no word unit precedes it and no joiner that follows a word unit since
   * `floor` (tokenStartAt). `filter` finds the next unit that may start a term (a superset: it looks
   * behind for ASCII word units only); a covered span met first is handled where the walk would meet
   * it (walkPositionAt).
   */
  private matchFiltered(
    text: string,
    covered: ReadonlyArray<{ readonly start: number; readonly end: number }>,
    filter: RegExp,
  ): DictionaryMatch[] {
    const out: DictionaryMatch[] = [];
    const n = text.length;
    let i = 0;
    let floor = 0;
    let c = 0;
    while (i < n) {
      while (c < covered.length && covered[c]!.end <= i) c++;
      if (c < covered.length && covered[c]!.start <= i) {
        i = floor = covered[c]!.end;
        continue;
      }
      const q = i === floor && isWordCode(text.charCodeAt(i)) ? i : nextCandidate(text, i, floor, filter);
      const coveredStart = c < covered.length ? covered[c]!.start : n;
      if (coveredStart < n && coveredStart <= q) {
        i = walkPositionAt(text, coveredStart, floor);
        continue;
      }
      if (q >= n) break;
      // A unit that starts no term is met only at `floor`, where any word unit starts a token.
      const found = out.length;
      i = this.tokenAt(text, q, out);
      if (out.length > found) floor = i;
    }
    return out;
  }

  /**
   * The step both walks take at a token's start `at`: the longest term there, if any, is added to
   * `out`; returns where the walk goes on (past the match, else past the token).
   */
  private tokenAt(text: string, at: number, out: DictionaryMatch[]): number {
    if (!this.startsTerm(text.charCodeAt(at))) return skipToken(text, at);
    const end = tokenEnd(text, at);
    const hit = this.matchAt(text, at, end, lastTokenHash);
    if (!hit) return end;
    out.push(hit);
    return hit.end;
  }

  private startsTerm(unit: number): boolean {
    const first = lowerCode(unit);
    return first < 128 ? this.firstAscii[first] === 1 : this.firstOther.has(first);
  }

  /**
   * The units that start a term, as a global expression `(?<![A-Za-z0-9])[units]` over UTF-16 code
   * units (no `u` flag: the walk reads code units too), or null when more than
   * {@link PREFILTER_MAX_ASCII} ASCII units start one.
   */
  private buildPrefilter(): RegExp | null {
    const units: number[] = [];
    const add = (first: number) => {
      for (const unit of first < FOLD_LIMIT ? (FOLDS_TO.get(first) ?? []) : [first]) units.push(unit);
    };
    for (let first = 0; first < 128; first++) if (this.firstAscii[first] === 1) add(first);
    for (const first of this.firstOther) add(first);
    if (units.filter((unit) => unit < 128).length > PREFILTER_MAX_ASCII) return null;
    units.sort((a, b) => a - b);
    const key = units.join(',');
    let filter = PREFILTERS.get(key);
    if (!filter) {
      // A matcher is built per request too (its values): the same few first units come again, and
      // compiling the expression each time would cost more than it saves.
      if (PREFILTERS.size >= PREFILTER_CACHE_SIZE) PREFILTERS.clear();
      const set = units.map((unit) => `\\u${unit.toString(16).padStart(4, '0')}`).join('');
      filter = new RegExp(`(?<![A-Za-z0-9])[${set}]`, 'g');
      PREFILTERS.set(key, filter);
    }
    return filter;
  }

  private matchAt(text: string, start: number, end: number, hash: number): DictionaryMatch | null {
    let node = this.edge(this.root, hash, text, start, end, null);
    if (!node) {
      // "Doe's": only a one-token term can end inside the first token.
      const p = possessive(text, start, end);
      if (p === 0) return null;
      const single = this.edge(this.root, hashLower(text, start, end - p), text, start, end - p, null);
      return single?.term ? { ...single.term, start, end: end - p } : null;
    }
    let best: DictionaryMatch | null = node.term ? { ...node.term, start, end } : null;
    let cursor = end;
    while (node.hasChildren) {
      let t = cursor;
      while (t < text.length && !isWordCode(text.charCodeAt(t))) t++;
      if (t >= text.length) break;
      const tEnd = tokenEnd(text, t);
      const next = this.edge(node, lastTokenHash, text, t, tEnd, [cursor, t]);
      if (!next) {
        const p = possessive(text, t, tEnd);
        const last =
          p > 0 ? this.edge(node, hashLower(text, t, tEnd - p), text, t, tEnd - p, [cursor, t]) : null;
        if (last?.term) best = { ...last.term, start, end: tEnd - p };
        break;
      }
      node = next;
      cursor = tEnd;
      if (node.term) best = { ...node.term, start, end: cursor };
    }
    return best;
  }

  private child(node: TrieNode, hash: number, token: string, separator: string | null): TrieNode {
    const key = edgeKey(node, hash);
    let edges = this.edges.get(key);
    if (!edges) this.edges.set(key, (edges = []));
    const existing = edges.find((e) => e.parent === node && e.token === token && e.separator === separator);
    if (existing) return existing.node;
    const created: TrieNode = { id: this.nodes++, hasChildren: false, term: undefined };
    node.hasChildren = true;
    edges.push({ parent: node, token, separator, node: created });
    return created;
  }

  /** The child of `node` for the token `text[start, end)` after the separator `text[sep]`. */
  private edge(
    node: TrieNode,
    hash: number,
    text: string,
    start: number,
    end: number,
    sep: readonly [number, number] | null,
  ): TrieNode | undefined {
    const edges = this.edges.get(edgeKey(node, hash));
    if (!edges) return undefined;
    for (const edge of edges) {
      this.comparisons++;
      if (edge.parent !== node || !equalsLower(text, start, end, edge.token)) continue;
      if (sep !== null) {
        const ok =
          edge.separator === null
            ? isBlank(text, sep[0], sep[1])
            : equalsLower(text, sep[0], sep[1], edge.separator);
        if (!ok) continue;
      }
      return edge.node;
    }
    return undefined;
  }
}
