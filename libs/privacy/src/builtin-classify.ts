import { IBAN_LENGTHS, ibanValid, ipv6Valid, ssnValid } from './checksums.js';
import type { EntityType } from './entity.js';
import { classifyNumbers } from './phone-card-rules.js';
import type { Hit } from './spans.js';

// What a match of one of the built-in patterns (patterns.ts) is, checked in code: checksums, plausible
// dates, version numbers, and the words after a name cue that are no name.

// Capitalised words that follow name cues ("Dear Team", "Customer Support") but are not names.
const NOT_NAMES = new Set(
  (
    'team teams all everyone everybody sir sirs madam madame customer customers support service services client clients ' +
    'colleague colleagues hiring manager managers finance legal sales admin board committee department portal handbook ' +
    'account accounts name names number the this that these those our your my his her their its we you he she they it ' +
    'partner partners friends friend members member subscriber subscribers valued applicant applicants candidate candidates ' +
    'patient patients user users reviewer reviewers owner owners world there folks guys people staff employee employees ' +
    'monday tuesday wednesday thursday friday saturday sunday january february march april june july august september october ' +
    'november december success care experience relations record records id information details data portal login please thanks ' +
    'thank note see new old first last full best kind warm regards director officer head lead engineering marketing operations ' +
    'security privacy compliance procurement payroll accounting treasury it hr ops api json http server service request response ' +
    'mr mrs ms miss mx dr prof sir dame herr frau mme mlle sr sra ' +
    'quarterly annual monthly weekly daily planning plan report reports review meeting project projects budget budgets program ' +
    'programme strategy roadmap update updates summary overview agenda minutes policy policies procedure process proposal invoice ' +
    'invoices order orders payment payments contract contracts office offices group holdings bank ltd inc llc corp co company ' +
    'gmbh ag plc bv limited trust fund foundation university school hospital clinic center centre institute association council ' +
    'ministry government agency authority city county state national international global north south east west central general ' +
    'internal external public private digital cloud data systems solutions technologies technology software hardware network ' +
    'platform product products tool tools app application applications desk helpdesk office'
  ).split(' '),
);
const SINGLE_WORD_CUES = new Set(['dear', 'hi', 'hello', 'name', 'full name', 'attn', 'attention']);
const VERSION_CUE = /(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\brev(?:ision)?|\boid)[ :]*$/i;

function tail(m: RegExpExecArray, group: string, type: EntityType, score: number): Hit {
  const value = m.groups![group]!;
  const end = m.index + m[0].length;
  return { type, start: end - value.length, end, score };
}

export function classify(name: string, m: RegExpExecArray, text: string): Hit | null {
  const start = m.index;
  const value = m[0];
  switch (name) {
    case 'email':
      return { type: 'email', start, end: start + value.length, score: 0.99 };
    case 'emailobf':
      return { type: 'email', start, end: start + value.length, score: 0.9 };
    case 'iban':
      return classifyIban(value, start);
    case 'ssnctx': {
      const digits = m.groups!['ssnctxnum']!.replace(/[ .-]/g, '');
      return ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))
        ? tail(m, 'ssnctxnum', 'ssn', 0.95)
        : null;
    }
    case 'dob':
      return plausibleDate(m.groups!['dobdate']!) ? tail(m, 'dobdate', 'date_of_birth', 0.9) : null;
    case 'acct': {
      const digits = countDigits(m.groups!['acctnum']!);
      return digits >= 6 && digits <= 20 ? tail(m, 'acctnum', 'account_number', 0.85) : null;
    }
    case 'emp':
      return tail(m, 'empid', 'employee_id', 0.9);
    case 'title':
      return nameHit(m, 'titlename', 1, 0.85);
    case 'pcue': {
      const cue = m.groups!['pcueword']!.toLowerCase().replace(/\s+/g, ' ');
      return nameHit(m, 'pcuename', SINGLE_WORD_CUES.has(cue) ? 1 : 2, 0.75);
    }
    case 'sig':
      return nameHit(m, 'signame', 2, 0.75);
    case 'ssn': {
      const sep = m.groups!['ssnsep']!;
      return ssnValid(value.slice(0, 3), value.slice(4, 6), value.slice(7))
        ? { type: 'ssn', start, end: start + value.length, score: sep === '-' ? 0.95 : 0.8 }
        : null;
    }
    case 'ipv4':
      return VERSION_CUE.test(text.slice(Math.max(0, start - 12), start))
        ? null
        : { type: 'ip_address', start, end: start + value.length, score: 0.9 };
    case 'ipv6':
      return classifyIpv6(value, start);
    case 'numseq':
      return classifyNumbers(value, start, text);
    default:
      return null;
  }
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function classifyIban(value: string, start: number): Hit | null {
  const expected = IBAN_LENGTHS[value.slice(0, 2).toUpperCase()];
  if (expected === undefined) return null;
  let compact = '';
  let endOffset = 0;
  for (let i = 0; i < value.length && compact.length < expected; i++) {
    const ch = value[i]!;
    if (ch !== ' ' && ch !== '-') {
      compact += ch;
      endOffset = i + 1;
    }
  }
  if (compact.length !== expected || !ibanValid(compact.toUpperCase())) return null;
  // The IBAN must end at a token boundary, not in the middle of a longer alphanumeric run.
  const next = value[endOffset];
  if (next !== undefined && next !== ' ' && next !== '-') return null;
  return { type: 'iban', start, end: start + endOffset, score: 0.99 };
}

function classifyIpv6(value: string, start: number): Hit | null {
  if (!ipv6Valid(value)) return null;
  const nonEmpty = value.split(/:+/).reduce((n, g) => n + (g.includes('.') ? 2 : g.length > 0 ? 1 : 0), 0);
  return nonEmpty >= 3 ? { type: 'ip_address', start, end: start + value.length, score: 0.9 } : null;
}

function nameHit(m: RegExpExecArray, group: string, minWords: number, score: number): Hit | null {
  const value = m.groups![group]!;
  const end = m.index + m[0].length;
  return nameHitFromWords(value, end - value.length, minWords, score);
}

export function nameHitFromWords(
  value: string,
  nameStart: number,
  minWords: number,
  score: number,
): Hit | null {
  // Keep the words before the first one that is a known non-name ("Dear Jane Team" → "Jane").
  const words = value.split(' ');
  let kept = 0;
  let length = 0;
  for (const word of words) {
    const bare = word.replace(/[.'’]/g, '').toLowerCase();
    if (NOT_NAMES.has(bare) || NOT_NAMES.has(bare.replace(/s$/, ''))) break;
    length += (kept > 0 ? 1 : 0) + word.length;
    kept++;
  }
  const nameWords = words.slice(0, kept).filter((w) => !/^\p{Lu}\.$/u.test(w)).length;
  if (nameWords < minWords) return null;
  return { type: 'person', start: nameStart, end: nameStart + length, score };
}

function plausibleDate(value: string): boolean {
  const numbers = value.match(/\d+/g)?.map(Number) ?? [];
  if (numbers.length === 3) {
    const [a, b, c] = numbers as [number, number, number];
    if (a > 31) return a >= 1900 && a <= 2100 && b >= 1 && b <= 12 && c >= 1 && c <= 31;
    return a >= 1 && b >= 1 && a <= 31 && b <= 31 && (a <= 12 || b <= 12);
  }
  // Written months: "March 3, 1985", "3rd of March 1985".
  return numbers.length === 2;
}
