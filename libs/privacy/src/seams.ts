import type { Entity, EntityType } from './entity.js';

/**
 * Detection across the seams between consecutive texts of one request. A client (or an agent trying
 * its luck) can cut a value over two content parts or two messages — `"My SSN is 512-44-"` then
 * `"7391"` — and each text alone holds nothing a rule recognises. The texts are read again, glued
 * together, in a window of {@link SEAM_REACH} characters on each side of every seam (windows that
 * meet are merged, so every character is read at most once more): a value that crosses a seam comes
 * back as one piece per text it touches, each to be replaced by the placeholder of the whole value.
 * A value that lies inside one text but needed the previous text's cue ("Date of birth:" | "1985-03-12")
 * is reported for that text.
 */

/** A span of one text in normalised offsets, as the masking session handles them. */
export interface Span {
  readonly type: EntityType;
  readonly start: number;
  readonly end: number;
  readonly score: number;
  /** Set on the pieces of a value split across texts: the id of its group in {@link SeamResult.groups}. */
  readonly group?: number;
  /** A piece after the first of a split value (counted once, at the first). */
  readonly continuation?: boolean;
}

/** One piece of a split value: a span of text `index`. */
export interface SeamPiece extends Span {
  readonly index: number;
  readonly group: number;
}

export interface SeamResult {
  /** Extra spans per text index (sparse: texts without any have none). */
  readonly byText: Span[][];
  /** The pieces of each split value, in text order. */
  readonly groups: SeamPiece[][];
  /** Characters read again. */
  readonly scanned: number;
}

/** Characters read on each side of a seam: more than the longest value a seam can cut (IBAN, address). */
export const SEAM_REACH = 128;
/** How far a window's cut edge moves outwards to fall on white space rather than inside a word. */
const ALIGN = 32;

interface Piece {
  readonly index: number;
  /** Offset of the text in the virtual concatenation of all texts. */
  readonly offset: number;
  readonly length: number;
}

/**
 * Values across the seams of `texts` (already normalised), found by `detect` on windows of the texts
 * glued together.
 */
export function seamSpans(
  texts: readonly string[],
  detect: (window: string) => readonly Entity[],
  reach = SEAM_REACH,
): SeamResult {
  const byText: Span[][] = [];
  const groups: SeamPiece[][] = [];
  let scanned = seamPass(texts, detect, reach, byText, groups);
  // A request walker hands over enum-like fields between content parts (`"user"`, `"text"`), so the
  // parts of one message are not neighbours in `texts`. A second pass reads the texts without them;
  // the first still catches a value cut around such a word ("marta." | "klein" | "@example.com").
  if (texts.some((t) => ENUM_LIKE.test(t))) {
    const content = texts.map((t) => (ENUM_LIKE.test(t) ? '' : t));
    scanned += seamPass(content, detect, reach, byText, groups);
  }
  return { byText, groups, scanned };
}

/** A short lowercase identifier: the shape of a role, a content type or another enum value. */
const ENUM_LIKE = /^[a-z][a-z0-9_.-]{0,31}$/;

/** One pass over the seams of `texts` (empty texts are skipped); returns the characters read. */
function seamPass(
  texts: readonly string[],
  detect: (window: string) => readonly Entity[],
  reach: number,
  byText: Span[][],
  groups: SeamPiece[][],
): number {
  const pieces: Piece[] = [];
  let total = 0;
  texts.forEach((text, index) => {
    if (text.length === 0) return;
    pieces.push({ index, offset: total, length: text.length });
    total += text.length;
  });
  if (pieces.length < 2) return 0;

  let scanned = 0;
  let p = 1;
  let first = 0; // the first piece a window can touch
  while (p < pieces.length) {
    // Merge the windows of consecutive seams that meet.
    let from = pieces[p]!.offset - reach;
    let to = pieces[p]!.offset + reach;
    while (p + 1 < pieces.length && pieces[p + 1]!.offset - reach <= to) {
      p++;
      to = pieces[p]!.offset + reach;
    }
    p++;
    from = Math.max(0, from);
    to = Math.min(total, to);
    while (pieces[first]!.offset + pieces[first]!.length <= from) first++;
    const window = build(texts, pieces, first, from, to);
    scanned += window.text.length;
    collect(detect(window.text), window, pieces, byText, groups);
  }
  return scanned;
}

interface Window {
  readonly text: string;
  /** Virtual offset of the window's first character. */
  readonly from: number;
  readonly firstPiece: number;
  /** Whether the window starts / ends inside a text (rather than at the request's first / last character). */
  readonly cutStart: boolean;
  readonly cutEnd: boolean;
}

function charAt(texts: readonly string[], pieces: readonly Piece[], at: number, hint: number): number {
  let k = hint;
  while (k + 1 < pieces.length && pieces[k + 1]!.offset <= at) k++;
  while (k > 0 && pieces[k]!.offset > at) k--;
  const piece = pieces[k]!;
  return texts[piece.index]!.charCodeAt(at - piece.offset);
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

function build(
  texts: readonly string[],
  pieces: readonly Piece[],
  first: number,
  from: number,
  to: number,
): Window {
  const total = pieces[pieces.length - 1]!.offset + pieces[pieces.length - 1]!.length;
  let start = from;
  for (let k = 0; k < ALIGN && start > 0 && !isSpace(charAt(texts, pieces, start - 1, first)); k++) start--;
  // The piece at the window's end, found once: charAt walks from its hint.
  let last = first;
  while (last + 1 < pieces.length && pieces[last + 1]!.offset <= to) last++;
  let end = to;
  for (let k = 0; k < ALIGN && end < total && !isSpace(charAt(texts, pieces, end, last)); k++) end++;
  let firstPiece = first;
  while (firstPiece > 0 && pieces[firstPiece]!.offset > start) firstPiece--;
  const parts: string[] = [];
  for (let k = firstPiece; k < pieces.length && pieces[k]!.offset < end; k++) {
    const piece = pieces[k]!;
    const text = texts[piece.index]!;
    parts.push(text.slice(Math.max(0, start - piece.offset), Math.min(piece.length, end - piece.offset)));
  }
  return {
    text: parts.join(''),
    from: start,
    firstPiece,
    cutStart: start > 0 && !isSpace(charAt(texts, pieces, start - 1, firstPiece)),
    cutEnd: end < total && !isSpace(charAt(texts, pieces, end, last)),
  };
}

function collect(
  found: readonly Entity[],
  window: Window,
  pieces: readonly Piece[],
  byText: Span[][],
  groups: SeamPiece[][],
): void {
  let k = window.firstPiece;
  for (const entity of found) {
    // A value cut by the window's own edge may be a fragment of something else: the texts' own pass
    // or the neighbouring window sees it whole.
    if ((window.cutStart && entity.start === 0) || (window.cutEnd && entity.end === window.text.length))
      continue;
    const from = window.from + entity.start;
    const to = window.from + entity.end;
    while (pieces[k]!.offset + pieces[k]!.length <= from) k++;
    const head = pieces[k]!;
    if (to <= head.offset + head.length) {
      // Inside one text: found thanks to the previous text's context (or found there too).
      push(byText, head.index, {
        type: entity.type,
        start: from - head.offset,
        end: to - head.offset,
        score: entity.score,
      });
      continue;
    }
    const group = groups.length;
    const split: SeamPiece[] = [];
    for (let j = k; j < pieces.length && pieces[j]!.offset < to; j++) {
      const piece = pieces[j]!;
      const start = Math.max(from, piece.offset) - piece.offset;
      const end = Math.min(to, piece.offset + piece.length) - piece.offset;
      const span: SeamPiece = {
        type: entity.type,
        start,
        end,
        score: entity.score,
        group,
        index: piece.index,
        continuation: split.length > 0,
      };
      split.push(span);
      push(byText, piece.index, span);
    }
    groups.push(split);
  }
}

function push(byText: Span[][], index: number, span: Span): void {
  (byText[index] ??= []).push(span);
}
