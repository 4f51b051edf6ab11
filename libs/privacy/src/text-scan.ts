/**
 * Character-level helpers for the detector's single pass and the dictionary matcher: word
 * characters, lowercase folding and an allocation-free hash of a word's lowercase form.
 */

/** Code units from here on are their own lowercase (lowerCode). */
export const FOLD_LIMIT = 0x530; // Latin, Latin-1, Latin Extended A/B, IPA, Greek, Cyrillic
const FOLD = (() => {
  const table = new Uint16Array(FOLD_LIMIT);
  for (let c = 0; c < FOLD_LIMIT; c++) {
    const lower = String.fromCharCode(c).toLowerCase();
    table[c] = lower.length === 1 ? lower.charCodeAt(0) : c;
  }
  return table;
})();

/** Lowercase of one UTF-16 code unit (Latin, Greek, Cyrillic; other scripts unchanged). */
export function lowerCode(c: number): number {
  return c < FOLD_LIMIT ? FOLD[c]! : c;
}

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAsciiLetterCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Letters and digits. Non-ASCII code units count as letters except punctuation and symbol blocks and
 * surrogates (emoji); an approximation that is only used to find word boundaries fast — the patterns
 * that decide an entity check Unicode properties exactly.
 */
export function isWordCode(c: number): boolean {
  if (c < 128) return isAsciiLetterCode(c) || isDigitCode(c);
  return isNonAsciiWordCode(c);
}

/** The non-ASCII half of `isWordCode` (code units from 128 on), shared with the names recogniser. */
export function isNonAsciiWordCode(c: number): boolean {
  if (c < 0xc0) return c === 0xaa || c === 0xb5 || c === 0xba;
  if (c === 0xd7 || c === 0xf7) return false;
  if (c >= 0x2000 && c <= 0x2bff) return false;
  if (c >= 0x3000 && c <= 0x303f) return false;
  if (c >= 0xd800 && c <= 0xdfff) return false;
  if (c >= 0xfe30 && c <= 0xff20) return false;
  return true;
}

/**
 * A 31-multiplier hash over the lowercase code units of `text[start, end)` (int32). Plain integer
 * arithmetic rather than Math.imul, which is not inlined in every embedding (Jest's VM contexts).
 */
export function hashLower(text: string, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = ((h << 5) - h + lowerCode(text.charCodeAt(i))) | 0;
  return h;
}

/** Whether `text[start, end)` equals `lower` (already lowercase) ignoring case. */
export function equalsLower(text: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (lowerCode(text.charCodeAt(start + i)) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
