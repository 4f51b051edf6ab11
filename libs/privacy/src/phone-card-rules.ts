import { cardIssuerPlausible, luhnValid } from './checksums.js';
import type { Hit } from './spans.js';

// The rules for a run of digit groups (the `numseq` pattern): card numbers, international, North
// American and national phone numbers, and digits after a phone word.

const PHONE_CUE =
  /(?:\b(?:phone|telephone|tel|mobile|mob|cell|cellphone|fax|call|ring|sms|text|whatsapp|signal|dial|hotline|landline|ph|reach)\b|☎|📞)[^\n\d]{0,20}$/i;
const DATE_SHAPE = /^(?:\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2}))/;

interface Group {
  start: number;
  end: number;
  digits: string;
  paren: boolean;
}

/** Phone numbers and card numbers: the longest prefix of the digit groups that passes a rule wins. */
export function classifyNumbers(value: string, start: number, text: string): Hit | null {
  let i = 0;
  let prefix = '';
  if (value.startsWith('+')) {
    prefix = '+';
    i = value[1] === ' ' ? 2 : 1;
  } else if (value.startsWith('00')) {
    prefix = '00';
  }
  const groups: Group[] = [];
  const seps: string[] = [];
  let sep = '';
  while (i < value.length) {
    const ch = value[i]!;
    if (ch === '(' || (ch >= '0' && ch <= '9')) {
      const paren = ch === '(';
      const s = paren ? i + 1 : i;
      let e = s;
      while (e < value.length && value[e]! >= '0' && value[e]! <= '9') e++;
      groups.push({ start: s, end: e, digits: value.slice(s, e), paren });
      if (groups.length > 1) seps.push(sep);
      sep = '';
      i = paren ? e + 1 : e;
    } else {
      sep += ch;
      i++;
    }
  }
  if (groups.length === 0) return null;
  let totalDigits = 0;
  for (const g of groups) totalDigits += g.digits.length;
  if (totalDigits < 7) return null;

  // Strong rules (card, international, North American, trunk-prefixed) on the longest prefix first;
  // only then the weaker "a phone word precedes it" rule, so that trailing numbers are not swallowed.
  for (let k = groups.length; k >= 1; k--) {
    const hit = strongNumberRule(groups, seps, k, prefix, value, start);
    if (hit === STOP) break;
    if (hit) return hit;
  }
  if (
    prefix === '' &&
    letterBefore(text, start, 32) &&
    PHONE_CUE.test(text.slice(Math.max(0, start - 32), start))
  ) {
    for (let k = groups.length; k >= 1; k--) {
      const gs = groups.slice(0, k);
      const d = gs.reduce((n, g) => n + g.digits.length, 0);
      if (d < 7) break;
      const last = gs[k - 1]!;
      const end = start + (last.paren ? last.end + 1 : last.end);
      if (d <= 15 && !DATE_SHAPE.test(value.slice(0, end - start)))
        return { type: 'phone', start, end, score: 0.75 };
    }
  }
  return null;
}

/** Whether any ASCII letter occurs in the `window` characters before `start` (cheap pre-check for cue regexes). */
function letterBefore(text: string, start: number, window: number): boolean {
  for (let p = Math.max(0, start - window); p < start; p++) {
    const c = text.charCodeAt(p) | 32;
    if (c >= 97 && c <= 122) return true;
  }
  return false;
}

const STOP: Hit = { type: 'stop', start: 0, end: 0, score: 0 };

function strongNumberRule(
  groups: Group[],
  seps: string[],
  k: number,
  prefix: string,
  value: string,
  start: number,
): Hit | null {
  const gs = groups.slice(0, k);
  const ss = seps.slice(0, k - 1);
  const digits = gs.map((g) => g.digits).join('');
  const last = gs[k - 1]!;
  const end = start + (last.paren ? last.end + 1 : last.end);
  const d = digits.length;
  if (d < 7) return STOP;
  if (
    prefix === '' &&
    !gs.some((g) => g.paren) &&
    d >= 12 &&
    d <= 19 &&
    isCardShape(gs, ss) &&
    luhnValid(digits) &&
    cardIssuerPlausible(digits)
  ) {
    return { type: 'credit_card', start, end, score: 0.95 };
  }
  if (prefix === '+') return d >= 8 && d <= 15 ? { type: 'phone', start, end, score: 0.9 } : null;
  if (prefix === '00') {
    const ok = d - 2 >= 8 && d - 2 <= 15 && k >= 2 && gs[0]!.digits.length <= 5 && gs[1]!.digits[0] !== '0';
    return ok ? { type: 'phone', start, end, score: 0.8 } : null;
  }
  if (DATE_SHAPE.test(value.slice(0, end - start))) return null;
  if (isNanp(gs, ss)) return { type: 'phone', start, end, score: 0.85 };
  // National format with trunk prefix: 020 7946 0958, 0171 2345678, 01 42 68 53 01.
  if (
    gs[0]!.digits[0] === '0' &&
    k >= 2 &&
    d >= 9 &&
    d <= 12 &&
    gs[1]!.digits[0] !== '0' &&
    gs.every((g) => g.digits.length >= 2)
  ) {
    return { type: 'phone', start, end, score: 0.75 };
  }
  return null;
}

function isCardShape(gs: Group[], ss: string[]): boolean {
  if (gs.length === 1) return true;
  const sep = ss[0];
  if (sep !== ' ' && sep !== '-') return false;
  if (ss.some((s) => s !== sep)) return false;
  if (gs[0]!.digits.length !== 4) return false;
  return gs.every((g) => g.digits.length >= 3 && g.digits.length <= 7);
}

/** North American numbering: [1-]NXX-NXX-XXXX with separators, area code optionally in parentheses. */
function isNanp(gs: Group[], ss: string[]): boolean {
  let g = gs;
  let s = ss;
  if (g.length === 4 && g[0]!.digits === '1' && !g[0]!.paren) {
    g = g.slice(1);
    s = s.slice(1);
  }
  if (g.length !== 3) return false;
  const [a, b, c] = g as [Group, Group, Group];
  if (a.digits.length !== 3 || b.digits.length !== 3 || c.digits.length !== 4) return false;
  if (b.paren || c.paren) return false;
  if (a.digits[0] === '0' || a.digits[0] === '1') return false;
  if (s[1] === '' || s[1] === undefined) return false;
  return a.paren || s[0] !== '';
}
