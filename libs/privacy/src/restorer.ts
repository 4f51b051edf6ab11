import type { PlaceholderMapping } from './pseudonymizer.js';

export interface RestoreOptions {
  /**
   * Encodes a restored value for the context it is written into; `jsonStringContent` when the text is
   * the inside of a JSON string (tool-call arguments, `input_json_delta`). Default: the value itself.
   */
  readonly encode?: (value: string) => string;
}

/** Escapes a value for use inside a JSON string literal (without the quotes). */
export function jsonStringContent(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

const OPEN = 91; // [
const CLOSE = 93; // ]
const UNDERSCORE = 95;
const BACKSLASH = 92;

enum Kind {
  NoMatch,
  Need,
  Fragment,
  Match,
}

interface Outcome {
  kind: Kind;
  end: number;
  value: string;
}

const NO_MATCH: Outcome = { kind: Kind.NoMatch, end: 0, value: '' };
const NEED: Outcome = { kind: Kind.Need, end: 0, value: '' };
const FRAGMENT: Outcome = { kind: Kind.Fragment, end: 0, value: '' };

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isWordChar(c: number): boolean {
  return isLetter(c) || (c >= 48 && c <= 57) || c === UNDERSCORE;
}

interface LabelIndex {
  /** Every prefix of every label (uppercase): a partial label at a stream's end may still complete. */
  readonly prefixes: ReadonlySet<string>;
  /** The labels' first letters, both cases: where a placeholder without brackets may start. */
  readonly firstLetters: ReadonlySet<number>;
}

/**
 * The label index of each set of labels met so far. Requests mostly carry the same few types, and each
 * builds two restorers (text and JSON-escaped): the index is built once per set, not twice per request.
 * Labels are entity types (built-in and the profiles' own), so the sets are few; the cap only guards
 * against a profile source that keeps inventing types.
 */
const LABEL_INDEXES = new Map<string, LabelIndex>();
const LABEL_INDEXES_MAX = 1024;

function labelIndex(labels: ReadonlySet<string>): LabelIndex {
  const key = [...labels].sort().join('\u0000');
  let index = LABEL_INDEXES.get(key);
  if (index) return index;
  const prefixes = new Set<string>();
  const firstLetters = new Set<number>();
  for (const label of labels) {
    for (let i = 1; i <= label.length; i++) prefixes.add(label.slice(0, i));
    firstLetters.add(label.charCodeAt(0));
    firstLetters.add(label.toLowerCase().charCodeAt(0));
  }
  index = { prefixes, firstLetters };
  if (LABEL_INDEXES.size >= LABEL_INDEXES_MAX) LABEL_INDEXES.clear();
  LABEL_INDEXES.set(key, index);
  return index;
}

/**
 * Restores placeholders of one request's mapping in model output. One left-to-right scanner serves
 * both whole texts and streams: on a stream it stops where a decision needs characters that have not
 * arrived, so the streamed result equals the whole-text result for every way of cutting the text.
 *
 * Grammar (case-insensitive): up to two `[`, a label of the mapping, `_` (or `\_`), 8 or 16 hex digits
 * not followed by a word character, then up to two `]`. Without an opening bracket the label must start
 * at a word boundary and only a complete `]]` is taken. Only keys present in the mapping are replaced;
 * anything else is left as written. Restored values are emitted, never scanned again.
 *
 * At the end of the text, an unfinished placeholder (an opening bracket and part of a label, or a
 * label, its underscore and the start of a known key's digits) is dropped: it is a fragment of a
 * pseudonym that carries nothing for the reader, and showing it would be inconsistent. Shorter tails
 * (`E`, `[[`, `EMAIL`) and digits that match no key are text.
 */
export class Restorer {
  private readonly labels: ReadonlySet<string>;
  private readonly prefixes: ReadonlySet<string>;
  private readonly firstLetters: ReadonlySet<number>;
  private readonly encode: (value: string) => string;

  constructor(
    private readonly mapping: PlaceholderMapping,
    options: RestoreOptions = {},
  ) {
    this.labels = mapping.labels;
    ({ prefixes: this.prefixes, firstLetters: this.firstLetters } = labelIndex(this.labels));
    this.encode = options.encode ?? ((v) => v);
  }

  /** Whether restoring can change anything (false for an empty mapping). */
  get active(): boolean {
    return this.mapping.size > 0;
  }

  /** Restores a complete text. */
  restore(text: string): string {
    if (!this.active) return text;
    return this.scan(text, -1, true).out;
  }

  /** A restorer for one content stream (one per text stream and per tool call's argument deltas). */
  stream(): StreamRestorer {
    return new StreamRestorer(this);
  }

  /** @internal */
  scan(buf: string, prev: number, final: boolean): { out: string; consumed: number } {
    const n = buf.length;
    let out = '';
    let emitFrom = 0;
    let i = 0;
    while (i < n) {
      const c = buf.charCodeAt(i);
      if (c === OPEN || (this.firstLetters.has(c) && !isWordChar(i > 0 ? buf.charCodeAt(i - 1) : prev))) {
        const r = this.tryMatch(buf, i, final);
        if (r.kind === Kind.Need) break;
        if (r.kind === Kind.Match) {
          out += buf.slice(emitFrom, i) + this.encode(r.value);
          i = r.end;
          emitFrom = i;
          continue;
        }
        if (r.kind === Kind.Fragment) {
          out += buf.slice(emitFrom, i);
          return { out, consumed: n };
        }
      }
      i++;
    }
    out += buf.slice(emitFrom, i);
    return { out, consumed: i };
  }

  private tryMatch(buf: string, i: number, final: boolean): Outcome {
    const n = buf.length;
    let j = i;
    let open = 0;
    while (j < n && open < 2 && buf.charCodeAt(j) === OPEN) {
      j++;
      open++;
    }
    if (j === n) return final ? NO_MATCH : NEED;
    const labelStart = j;
    while (j < n && isLetter(buf.charCodeAt(j))) {
      j++;
      if (!this.prefixes.has(buf.slice(labelStart, j).toUpperCase())) return NO_MATCH;
    }
    if (j === labelStart) return NO_MATCH;
    if (j === n) return final ? (open > 0 ? FRAGMENT : NO_MATCH) : NEED;
    const label = buf.slice(labelStart, j).toUpperCase();
    if (!this.labels.has(label)) return NO_MATCH;
    const sep = buf.charCodeAt(j);
    if (sep === BACKSLASH) {
      if (j + 1 === n) return final ? (open > 0 ? FRAGMENT : NO_MATCH) : NEED;
      if (buf.charCodeAt(j + 1) !== UNDERSCORE) return NO_MATCH;
      j += 2;
    } else if (sep === UNDERSCORE) {
      j++;
    } else {
      return NO_MATCH;
    }
    if (j === n) return final ? FRAGMENT : NEED;
    const hexStart = j;
    while (j < n && j - hexStart < 16 && isHex(buf.charCodeAt(j))) j++;
    const hexLength = j - hexStart;
    if (j === n) {
      if (!final) return NEED;
      const digits = buf.slice(hexStart, j).toLowerCase();
      if (hexLength !== 8 && hexLength !== 16) return this.isKeyPrefix(label, digits) ? FRAGMENT : NO_MATCH;
    } else if (isWordChar(buf.charCodeAt(j)) || (hexLength !== 8 && hexLength !== 16)) {
      return NO_MATCH;
    }
    const value = this.mapping.get(`${label}_${buf.slice(hexStart, j).toLowerCase()}`);
    if (value === undefined) return NO_MATCH;
    let close = 0;
    if (open > 0) {
      while (close < 2 && j + close < n && buf.charCodeAt(j + close) === CLOSE) close++;
      if (close < 2 && j + close === n && !final) return NEED;
    } else if (j < n && buf.charCodeAt(j) === CLOSE) {
      if (j + 1 === n) {
        if (!final) return NEED;
      } else if (buf.charCodeAt(j + 1) === CLOSE) {
        close = 2;
      }
    }
    return { kind: Kind.Match, end: j + close, value };
  }

  /** Whether some key of the mapping starts with `LABEL_digits` (the end of a text cut a placeholder short). */
  private isKeyPrefix(label: string, digits: string): boolean {
    const prefix = `${label}_${digits}`;
    for (const [key] of this.mapping.entries()) if (key.startsWith(prefix)) return true;
    return false;
  }
}

/**
 * Restores one content stream chunk by chunk. It holds back only the tail that could still be the
 * start of a placeholder; `end()` flushes that tail with the end-of-text rule. Not reusable after `end`.
 */
export class StreamRestorer {
  private pending = '';
  private prev = -1;
  private ended = false;

  constructor(private readonly restorer: Restorer) {}

  /** Number of characters currently held back. */
  get heldBack(): number {
    return this.pending.length;
  }

  push(chunk: string): string {
    if (this.ended) throw new Error('stream restorer already ended');
    if (!this.restorer.active) return chunk;
    const buf = this.pending.length === 0 ? chunk : this.pending + chunk;
    const { out, consumed } = this.restorer.scan(buf, this.prev, false);
    if (consumed > 0) this.prev = buf.charCodeAt(consumed - 1);
    this.pending = consumed === buf.length ? '' : buf.slice(consumed);
    return out;
  }

  end(): string {
    if (this.ended) return '';
    this.ended = true;
    if (this.pending.length === 0) return '';
    const { out } = this.restorer.scan(this.pending, this.prev, true);
    this.pending = '';
    return out;
  }
}
