import { classify, nameHitFromWords } from './builtin-classify.js';
import { foldInlineCase } from './case-fold.js';
import { ssnValid } from './checksums.js';
import { ALTERNATIVES, NAME } from './patterns.js';
import type { Hit } from './spans.js';
import { equalsLower, hashLower, isWordCode } from './text-scan.js';

// The detector's single pass for the built-in types: the triggers (cues, digit runs, `@`, brackets)
// and the sticky patterns tried at them (see builtinHits).

const STICKY: Readonly<Record<string, RegExp>> = Object.fromEntries(
  // Inline (?i:…) groups are folded into explicit classes: V8 can compile them wrongly (case-fold.ts).
  ALTERNATIVES.map((a) => [a.name, new RegExp(foldInlineCase(a.source), 'uy')]),
);
const ANGLE_NAME = new RegExp(`(?<![\\p{L}])(${NAME})[ ]?<$`, 'u');

/**
 * Words that may start a context-dependent entity, by their lowercase ASCII form, with the
 * alternatives to try at the word, in priority order.
 */
interface Cue {
  readonly word: string;
  /** Every alternative of the cue. */
  readonly alternatives: string[];
  /** The same without the name alternatives, for when no capital letter follows the cue. */
  readonly withoutNames: string[];
}
const NAME_ALTERNATIVES = new Set(['title', 'pcue', 'sig']);
const CUES: ReadonlyMap<number, readonly Cue[]> = (() => {
  const map = new Map<number, Cue[]>();
  const add = (alt: string, words: string) => {
    for (const word of words.split(' ')) {
      const key = hashLower(word, 0, word.length);
      const list = map.get(key) ?? [];
      let entry = list.find((e) => e.word === word);
      if (!entry) list.push((entry = { word, alternatives: [], withoutNames: [] }));
      entry.alternatives.push(alt);
      if (!NAME_ALTERNATIVES.has(alt)) entry.withoutNames.push(alt);
      map.set(key, list);
    }
  };
  add('ssnctx', 'ssn social ss');
  add('dob', 'date birth birthdate d dob born birthday geburtsdatum fecha');
  add('acct', 'bank account acct a konto kontonummer routing aba sort bsb');
  add('emp', 'employee staff personnel emp employeeid empid employeeno staffid');
  add('title', 'mr mrs ms miss mx dr prof sir dame herr frau mme mlle sr sra');
  add(
    'pcue',
    'dear hi hello full name employee patient customer client applicant candidate tenant contact attn attention signed prepared ' +
      'approved requested reported submitted assigned spouse beneficiary cardholder account passport policy policyholder holder ' +
      'recipient colleague dependent dependant next guarantor borrower claimant complainant',
  );
  add('sig', 'best kind warm regards sincerely cheers');
  return map;
})();
const NUMERIC_ALTERNATIVES = ['ssn', 'ipv4', 'ipv6', 'numseq'] as const;

function tryAt(alternatives: readonly string[], index: number, text: string): Hit | null {
  for (const name of alternatives) {
    const re = STICKY[name]!;
    re.lastIndex = index;
    const m = re.exec(text);
    if (m) {
      const hit = classify(name, m, text);
      if (hit) return hit;
    }
  }
  return null;
}

// Local copies of the hot character tests: calls into another module are not always inlined (they
// are not under Jest's VM modules, which made the loop ten times slower there).
const isDigit = (c: number) => c >= 48 && c <= 57;
const isAsciiLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isHexLetter = (c: number) => (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

function cueAt(text: string, start: number, end: number, hash: number): Cue | undefined {
  const list = CUES.get(hash);
  if (!list) return undefined;
  for (const entry of list) if (equalsLower(text, start, end, entry.word)) return entry;
  return undefined;
}

/** Whether a capital letter occurs within the next few characters: names only follow cues that way. */
function capitalAhead(text: string, from: number): boolean {
  const limit = Math.min(text.length, from + 24);
  for (let p = from; p < limit; p++) {
    const c = text.charCodeAt(p);
    if ((c >= 65 && c <= 90) || (c >= 0xc0 && isWordCode(c))) return true;
  }
  return false;
}

/** Numeric alternatives worth trying at a digit run, decided from a few characters (no regex). */
function numericCandidates(text: string, i: number): readonly string[] | null {
  const n = text.length;
  let runEnd = i + 1;
  while (runEnd < n && isDigit(text.charCodeAt(runEnd))) runEnd++;
  const run = runEnd - i;
  const next = text.charCodeAt(runEnd);
  if (run < 4 && isHexLetter(next)) {
    // "2a00:1450::" — an IPv6 group that starts with a digit and continues with hex letters.
    let h = runEnd;
    while (h < i + 4 && h < n && (isDigit(text.charCodeAt(h)) || isHexLetter(text.charCodeAt(h)))) h++;
    return text.charCodeAt(h) === 58 ? IPV6_FIRST : null;
  }
  // A lone short number: no separator followed by another group.
  let k = runEnd;
  while (
    k < runEnd + 3 &&
    k < n &&
    (text.charCodeAt(k) === 32 ||
      text.charCodeAt(k) === 47 ||
      text.charCodeAt(k) === 46 ||
      text.charCodeAt(k) === 45)
  )
    k++;
  const more = k > runEnd && (isDigit(text.charCodeAt(k)) || text.charCodeAt(k) === 40);
  if (!more && run < 7 && next !== 58) return null;
  if (next === 58 && run <= 4) return IPV6_FIRST;
  // Phones and cards need at least 7 digits: count the digits of the groups that follow, cheaply.
  let digits = run;
  if (run < 7) {
    for (let p = runEnd; p < n && p < i + 40; p++) {
      const d = text.charCodeAt(p);
      if (isDigit(d)) digits++;
      else if (d !== 32 && d !== 45 && d !== 46 && d !== 47 && d !== 40 && d !== 41) break;
    }
  }
  if (run === 3 && (next === 45 || next === 32)) return digits >= 7 ? NUMERIC_ALTERNATIVES : null;
  if (run <= 3 && next === 46) return digits >= 7 ? IPV4_FIRST : IPV4_ONLY;
  return digits >= 7 ? NUMSEQ_ONLY : null;
}
const IPV4_ONLY = ['ipv4'] as const;
const IBAN_ONLY = ['iban'] as const;
const IPV6_FIRST = ['ipv6', 'numseq'] as const;
const IPV4_FIRST = ['ipv4', 'numseq'] as const;
const NUMSEQ_ONLY = ['numseq'] as const;
const isLocalPart = (c: number) =>
  isAsciiLetter(c) || isDigit(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45 || c === 39;

/**
 * The single pass: a character loop that stops only at triggers (a word that is a cue, the start of a
 * digit run, `@`, `+`, `(`, `[`, `:`, an IBAN-like word) and runs the precompiled sticky pattern(s)
 * of that trigger there. Text between triggers costs one table lookup per character.
 */
export function builtinHits(text: string): Hit[] {
  const hits: Hit[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      const candidates = numericCandidates(text, i);
      const hit = (candidates ? tryAt(candidates, i, text) : null) ?? bareSsnAt(text, i);
      if (hit) {
        hits.push(hit);
        i = hit.end;
        continue;
      }
      let j = i + 1;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      i = j;
      continue;
    }
    if (isAsciiLetter(c) || (c >= 0xc0 && isWordCode(c))) {
      i = wordStep(text, i, c, hits);
      continue;
    }
    const hit = punctuationHit(text, i, c, hits);
    if (hit) {
      hits.push(hit);
      i = hit.end;
      continue;
    }
    i++;
  }
  return hits;
}

/** At the start of a word (letters and digits): its hit, if any, pushed to `hits`; returns where to go on. */
function wordStep(text: string, i: number, c: number, hits: Hit[]): number {
  const n = text.length;
  let j = i;
  let ascii = true;
  let hexOnly = true;
  let hash = 0;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (isAsciiLetter(d)) {
      hash = ((hash << 5) - hash + (d | 32)) | 0;
      if (!isHexLetter(d)) hexOnly = false;
    } else if (isDigit(d)) {
      hash = ((hash << 5) - hash + d) | 0;
    } else if (d >= 0xc0 && isWordCode(d)) {
      ascii = false;
      hexOnly = false;
    } else break;
    j++;
  }
  let hit: Hit | null = null;
  if (
    j - i >= 4 &&
    isAsciiLetter(c) &&
    isAsciiLetter(text.charCodeAt(i + 1)) &&
    isDigit(text.charCodeAt(i + 2)) &&
    isDigit(text.charCodeAt(i + 3))
  ) {
    hit = tryAt(IBAN_ONLY, i, text);
  }
  if (!hit && ascii && j - i <= 14) {
    const cue = cueAt(text, i, j, hash);
    if (cue) hit = tryAt(capitalAhead(text, j) ? cue.alternatives : cue.withoutNames, i, text);
  }
  if (!hit && hexOnly && j - i <= 4 && text.charCodeAt(j) === 58) hit = tryAt(['ipv6'], i, text);
  if (hit) {
    hits.push(hit);
    return Math.max(hit.end, i + 1);
  }
  return j;
}

/**
 * At `@`, `+`, `(`, `[`, `{`, `<` or `:`: the hit that starts or ends there, if any (a display name
 * before "<address>" is pushed to `hits` first).
 */
function punctuationHit(text: string, i: number, c: number, hits: Hit[]): Hit | null {
  switch (c) {
    case 64: {
      // '@': back up over the local part, then match the whole address.
      let k = i - 1;
      while (k >= 0 && i - k <= 64 && isLocalPart(text.charCodeAt(k))) k--;
      let from = k + 1;
      while (from < i && !isAsciiLetter(text.charCodeAt(from)) && !isDigit(text.charCodeAt(from))) from++;
      const hit = from < i ? tryAt(['email'], from, text) : null;
      if (hit) {
        // A display name right before "<address>" is a person.
        if (text.charCodeAt(hit.start - 1) === 60) {
          const before = text.slice(Math.max(0, hit.start - 80), hit.start);
          const m = ANGLE_NAME.exec(before);
          if (m?.[1]) {
            const nameStart = hit.start - before.length + m.index;
            const name = nameHitFromWords(m[1], nameStart, 2, 0.8);
            if (name) hits.push(name);
          }
        }
        return hit;
      }
      return null;
    }
    case 43: // '+' international phone
    case 40: {
      // '(' area code, or "(at)" of an obfuscated address
      return tryAt(['numseq'], i, text) ?? obfuscatedEmailAt(i, text);
    }
    case 91: // '['
    case 123: // '{'
    case 60: {
      // '<'
      return obfuscatedEmailAt(i, text);
    }
    case 58: {
      // ':' starting a compressed IPv6 address ("::1", "::ffff:192.0.2.1")
      return text.charCodeAt(i + 1) === 58 ? tryAt(['ipv6'], i, text) : null;
    }
  }
  return null;
}

/**
 * A bare nine-digit SSN without a cue ("512447391"). Nine-digit numbers are also order, invoice and
 * routing numbers, so the rules are narrow and documented in the README of libs/privacy: exactly nine
 * digits standing alone (no digit, letter, `-`, `/`, `.`/`,` + digit, `#`, `$`, `€`, `£` or `+` around
 * them) in prose (a word within 40 characters: not a lone value such as a JSON number or an id field), a valid SSA area, group and serial (no 000, 666 or 9xx area, no 00 group, no 0000 serial),
 * not one repeated digit, not the ascending or descending run, not the numbers the SSA voided after
 * they were printed in advertising (078-05-1120, 219-09-9999), and no reference word (order, invoice,
 * ticket, tracking, …) right before it. Scored below the cued forms so any other reading wins.
 */
function bareSsnAt(text: string, i: number): Hit | null {
  const end = i + 9;
  if (end > text.length) return null;
  for (let p = i; p < end; p++) if (!isDigit(text.charCodeAt(p))) return null;
  const before = i > 0 ? text.charCodeAt(i - 1) : 32;
  const after = text.charCodeAt(end);
  if (isWordCode(before)) return null;
  if (BARE_SSN_BLOCKED_BEFORE.has(before)) return null;
  if (!Number.isNaN(after)) {
    if (isWordCode(after)) return null;
    if (BARE_SSN_BLOCKED_AFTER.has(after)) return null;
    if ((after === 46 || after === 44) && isDigit(text.charCodeAt(end + 1))) return null;
  }
  if (!wordNear(text, i, end)) return null;
  const digits = text.slice(i, end);
  if (!ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))) return null;
  if (BARE_SSN_EXCLUDED.has(digits) || /^(\d)\1{8}$/.test(digits)) return null;
  if (BARE_SSN_REFERENCE.test(text.slice(Math.max(0, i - 24), i))) return null;
  return { type: 'ssn', start: i, end, score: 0.6 };
}
/**
 * Whether a word (a letter) stands within 40 characters of `[start, end)`: a bare number in prose.
 * A lone nine-digit value — a JSON number, an id field, a cell — is far more often an identifier.
 */
function wordNear(text: string, start: number, end: number): boolean {
  const from = Math.max(0, start - 40);
  const to = Math.min(text.length, end + 40);
  for (let p = from; p < to; p++) {
    if (p === start) p = end;
    const c = text.charCodeAt(p);
    if (isAsciiLetter(c) || (c >= 0xc0 && isWordCode(c))) return true;
  }
  return false;
}
const BARE_SSN_BLOCKED_BEFORE = new Set([45, 47, 35, 36, 43, 95, 0x20ac, 0xa3, 46, 44, 58]);
const BARE_SSN_BLOCKED_AFTER = new Set([45, 47, 95, 37, 0x20ac]);
const BARE_SSN_EXCLUDED = new Set(['123456789', '987654321', '078051120', '219099999']);
const BARE_SSN_REFERENCE =
  /\b(?:order|invoice|inv|ticket|case|ref|reference|tracking|po|sku|part|build|version|serial|lot|batch|isbn|issn|policy|claim|receipt|transaction|txn|confirmation|booking|shipment|parcel|routing|aba|account|acct|iban|phone|tel|fax|mobile)(?:[\s.:#=-]*(?:number|num|no|nr|id))?[\s.:#=-]*$/i;

/** At an opening bracket: "name [at] domain [dot] com" — back up over the local part and match. */
function obfuscatedEmailAt(i: number, text: string): Hit | null {
  let k = i + 1;
  if (text.charCodeAt(k) === 32) k++;
  if ((text.charCodeAt(k) | 32) !== 97 || (text.charCodeAt(k + 1) | 32) !== 116) return null;
  let s = i - 1;
  if (text.charCodeAt(s) === 32) s--;
  const end = s;
  while (s >= 0 && end - s < 64 && isLocalPart(text.charCodeAt(s))) s--;
  return s + 1 <= end ? tryAt(['emailobf'], s + 1, text) : null;
}
