import { createRequire } from 'node:module';

/**
 * The word knowledge the name recogniser (names.ts) decides with, built once per process:
 *
 * - from **compromise**'s model (its lexicon ships in the npm package): first names (`FemaleName`,
 *   `MaleName`, `FirstName`), last names (`LastName`), and the proper nouns that are not people —
 *   cities, countries, regions, places, organisations, sports teams, demonyms, months, weekdays,
 *   holidays, currencies — plus its organisation and place head words (`Bank`, `Airlines`, `Bay`)
 *   and its multi-word places and organisations (`Kuala Lumpur`, `Rio de Janeiro`);
 * - from **an-array-of-english-words** (275k words): whether a token is an ordinary English word,
 *   which is what tells `Orion Analytics` (a word inside) from `Chukwuemeka Adeyemi` (none).
 *
 * compromise's own sentence tagger is not run per request: it costs ~50 ms per 4 KB of text
 * (measured on this machine), fifty times the proxy's whole budget; its lexicon is what carries the
 * knowledge of names, and the request path pays one hash lookup per word.
 *
 * Words are keyed by two independent 32-bit hashes of their folded form (lowercase, accents dropped,
 * computed code unit by code unit, so the recogniser hashes a word while it scans it and allocates
 * nothing for the ordinary words it skips): a false match needs both to collide (~1e-13 per lookup).
 */
export interface NamesLexicon {
  /** The {@link WordFlag}s of a word, by its {@link wordHash} pair (0 when unknown). */
  flags(h1: number, h2: number): number;
  /** The same for a word given as a string. */
  flagsOf(word: string): number;
  /** Multi-word places and organisations, folded and joined by one space. */
  readonly notPeoplePhrases: ReadonlySet<string>;
  /** Longest phrase in `notPeoplePhrases`, in words. */
  readonly longestPhrase: number;
}

/** What the lexicon knows of a word, as bits. */
export const WordFlag = {
  FIRST_NAME: 1,
  LAST_NAME: 2,
  /** A place, organisation or calendar word of compromise (may also be a surname: Washington). */
  NOT_PERSON: 4,
  /** A job title, company, product, street or calendar word: never part of a name. */
  BUSINESS: 8,
  ENGLISH: 16,
  PARTICLE: 32,
  TITLE: 64,
  /** A word after which a name is addressed or referred to ("call", "Dear", "thanks", "with"). */
  CUE: 128,
  /** A cue that is a common word: it only supports a word the lexicon knows as a name. */
  WEAK_CUE: 256,
  /** A word that joins a list of people ("and"). */
  LIST: 512,
  /** A sign-off after which the name follows on the next line ("Regards,\nMarisol"). */
  SIGN_OFF: 1024,
  /** A verb of address ("call", "ask"): a cue before a name, not before a colon ("every call: OpenAI"). */
  VERB_CUE: 2048,
} as const;

export const PARTICLES =
  'van von de da del della der den di du la le bin binti ibn al el ter ten dos das do zu af av mac st';
const TITLES = 'mr mrs ms miss mx dr prof sir dame herr frau mme mlle sr sra srta dona';
const CUES =
  'dear hi hello hey call called calling ask asked tell told email emailed mail ping pinged contact contacted meet met ' +
  'cc thanks thank attn attention regards sincerely cheers by from with to for and invite invited remind reminded ' +
  'per via bcc spoke speak talk talked phoned';
const WEAK_CUES = 'by from with to for and per via';
const LIST_WORDS = 'and und et or';
const SIGN_OFFS = 'regards sincerely cheers thanks';
const VERB_CUES =
  'call called calling ask asked tell told email emailed mail ping pinged contact contacted meet met invite invited ' +
  'remind reminded spoke speak talk talked phoned';

const FIRST_NAME_TAGS = new Set(['FemaleName', 'MaleName', 'FirstName']);
const LAST_NAME_TAGS = new Set(['LastName']);
const NOT_PEOPLE_TAGS = new Set([
  'City',
  'Country',
  'Region',
  'Place',
  'Organization',
  'SportsTeam',
  'Demonym',
  'Month',
  'WeekDay',
  'Holiday',
  'Currency',
  'Timezone',
]);

/**
 * Words of business text that end a name or never make one, written for this recogniser (job titles,
 * company and product words, street and place words, calendar words). compromise's orgWords and
 * placeWords are added to them.
 */
const BUSINESS_WORDS =
  'team teams support service services group groups department dept office offices desk center centre portal platform ' +
  'system systems solutions analytics consulting consultancy logistics holdings partners partner ltd inc llc gmbh ag sa plc ' +
  'corp corporation company co bank capital ventures labs lab studio studios foundation institute university college school ' +
  'hospital clinic airlines airways motors energy pharma industries international global review report reports meeting ' +
  'summit conference week day quarter budget policy plan program programme project initiative strategy roadmap release ' +
  'edition pro max plus mini ultra lite series model tab book phone pad suite cloud app apps manager managers director ' +
  'directors officer officers head lead chief president vice executive engineer engineering analyst assistant coordinator ' +
  'specialist consultant accountant counsel clerk secretary treasurer controller administrator representative agent ' +
  'operator technician intern avenue street road lane drive boulevard square plaza building tower hall airport station ' +
  'harbour harbor port river lake mount mountain valley island bay beach city county province region district state ' +
  'republic kingdom north south east west central upper lower new old saint fort general standard premium express limited ' +
  'trust fund association council committee board ministry agency authority commission federation union alliance network ' +
  'media news times post journal magazine press records games sports club united finance legal sales marketing operations ' +
  'procurement payroll accounting treasury compliance security privacy hr it ops admin customer customers client clients ' +
  'user users account accounts invoice invoices order orders payment payments contract contracts product products ' +
  'monday tuesday wednesday thursday friday saturday sunday january february march april may june july august september ' +
  'october november december today tomorrow yesterday q1 q2 q3 q4 ceo cfo cto coo ciso vp svp evp ' +
  'code desktop copilot cli sdk api server engine kit hub';

export const FOLD_LIMIT = 0x2000;
/** Per code unit below {@link FOLD_LIMIT}: the lowercase letter without its accent (`É` → `e`), or itself. */
export const FOLD_TABLE = (() => {
  const table = new Uint16Array(FOLD_LIMIT);
  for (let c = 0; c < FOLD_LIMIT; c++) {
    const base = String.fromCharCode(c)
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase();
    table[c] = base.length === 1 ? base.charCodeAt(0) : c;
  }
  return table;
})();

/** The folded code unit, or -1 for a combining mark (not part of a word's key). */
export function foldCode(c: number): number {
  if (c >= 0x300 && c <= 0x36f) return -1;
  if (c === 0x2019) return 39;
  if (c === 0x2010) return 45;
  return c < FOLD_LIMIT ? FOLD_TABLE[c]! : c;
}

/** Step of the first word hash (×31). Plain integer arithmetic: Math.imul is not inlined everywhere. */
export function hashStep1(h: number, f: number): number {
  return ((h << 5) - h + f) | 0;
}
/** Step of the second, independent word hash (×131, offset). */
export function hashStep2(h: number, f: number): number {
  return ((h << 7) + (h << 1) + h + f + 0x9e) | 0;
}

/** The two hashes of a word's folded form. */
export function wordHash(word: string): [number, number] {
  let h1 = 0;
  let h2 = 0;
  for (let i = 0; i < word.length; i++) {
    const f = foldCode(word.charCodeAt(i));
    if (f < 0) continue;
    h1 = hashStep1(h1, f);
    h2 = hashStep2(h2, f);
  }
  return [h1, h2];
}

/**
 * Open-addressing table from a word's hash pair to its flags. One Int32Array holds each slot's two
 * hashes and its flags side by side (12 bytes), so a lookup reads one cache line where four parallel
 * arrays read four. The table is megabytes (300k+ words) and is probed once per word of every request;
 * between requests the client, the upstream and the bus evict it from the cache, so a cold lookup's
 * misses, not its instructions, are its cost. Flags are never 0 once added: 0 marks an empty slot.
 */
export class FlagTable {
  private readonly mask: number;
  private readonly slots: Int32Array;
  /**
   * The words looked up last, direct-mapped by their hashes: 4,096 slots of 12 bytes (48 KB), which a
   * text's common words keep warm, so most lookups of a request read no line of the big table.
   * Unknown words are kept too (flags 0). A slot holds the hash pair and the flags with
   * {@link SEEN} set: 0 marks an empty slot. The table never changes after it is built, so a kept
   * answer never goes stale.
   */
  private readonly recent = new Int32Array(RECENT_SLOTS * 3);

  constructor(capacity: number) {
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.mask = size - 1;
    this.slots = new Int32Array(size * 3);
  }

  add(h1: number, h2: number, flag: number): void {
    // A lookup kept before this add would now be stale (tables are built before use; this is the guard).
    this.recent[recentSlot(h1, h2) + 2] = 0;
    const slots = this.slots;
    let slot = (h1 ^ (h2 >>> 11)) & this.mask;
    while (slots[slot * 3 + 2] !== 0 && (slots[slot * 3] !== h1 || slots[slot * 3 + 1] !== h2))
      slot = (slot + 1) & this.mask;
    const at = slot * 3;
    slots[at] = h1;
    slots[at + 1] = h2;
    slots[at + 2]! |= flag;
  }

  get(h1: number, h2: number): number {
    const recent = this.recent;
    const near = recentSlot(h1, h2);
    const kept = recent[near + 2]!;
    if (kept !== 0 && recent[near] === h1 && recent[near + 1] === h2) return kept & ~SEEN;
    const flags = this.probe(h1, h2);
    recent[near] = h1;
    recent[near + 1] = h2;
    recent[near + 2] = flags | SEEN;
    return flags;
  }

  private probe(h1: number, h2: number): number {
    const slots = this.slots;
    let slot = (h1 ^ (h2 >>> 11)) & this.mask;
    for (;;) {
      const at = slot * 3;
      const flags = slots[at + 2]!;
      if (flags === 0) return 0;
      if (slots[at] === h1 && slots[at + 1] === h2) return flags;
      slot = (slot + 1) & this.mask;
    }
  }
}

/** Slots of a {@link FlagTable}'s recent-words cache (a power of two). */
const RECENT_SLOTS = 4096;
/** Set in a recent-words slot that holds an answer: flags use the low 12 bits. */
const SEEN = 1 << 30;

/** Where a hash pair sits in the recent-words cache (the index of its first Int32). */
export function recentSlot(h1: number, h2: number): number {
  return ((h2 ^ (h1 >>> 13)) & (RECENT_SLOTS - 1)) * 3;
}

let cached: NamesLexicon | undefined;

interface CompromiseModel {
  one: { lexicon: Record<string, string | string[]> };
  two: { orgWords: Record<string, unknown>; placeWords: Record<string, unknown> };
}

/**
 * The lexicon, built on first use (0.4–1 s with loading compromise; ~10 MB of tables) and shared by
 * every recogniser of the process.
 */
export function namesLexicon(): NamesLexicon {
  if (cached) return cached;
  // Loaded here, not at import: compromise takes ~1 s to load, and most users of this library never
  // build the lexicon (the proxy does it at start, preloadNamesLexicon).
  const require = createRequire(import.meta.url);
  const nlp = require('compromise') as { model(): unknown };
  const model = nlp.model() as CompromiseModel;
  const english = require('an-array-of-english-words') as string[];
  const entries = Object.entries(model.one.lexicon);
  const table = new FlagTable(english.length + entries.length + 1_000);
  const add = (word: string, flag: number) => {
    const [h1, h2] = wordHash(word);
    table.add(h1, h2, flag);
  };
  const notPeoplePhrases = new Set<string>();
  let longestPhrase = 1;
  for (const [entry, value] of entries) {
    const tags = Array.isArray(value) ? value : [value];
    const word = foldWord(entry);
    if (tags.some((t) => NOT_PEOPLE_TAGS.has(t))) {
      if (word.includes(' ')) {
        notPeoplePhrases.add(word);
        longestPhrase = Math.max(longestPhrase, word.split(' ').length);
      } else add(word, WordFlag.NOT_PERSON);
      continue;
    }
    if (word.includes(' ')) continue;
    if (tags.some((t) => FIRST_NAME_TAGS.has(t))) add(word, WordFlag.FIRST_NAME);
    if (tags.some((t) => LAST_NAME_TAGS.has(t))) add(word, WordFlag.LAST_NAME);
  }
  for (const word of english) add(word, WordFlag.ENGLISH);
  for (const word of BUSINESS_WORDS.split(' ')) add(word, WordFlag.BUSINESS);
  for (const word of Object.keys(model.two.orgWords)) add(foldWord(word), WordFlag.BUSINESS);
  for (const word of Object.keys(model.two.placeWords)) add(foldWord(word), WordFlag.BUSINESS);
  for (const word of PARTICLES.split(' ')) add(word, WordFlag.PARTICLE);
  for (const word of TITLES.split(' ')) add(word, WordFlag.TITLE);
  for (const word of CUES.split(' ')) add(word, WordFlag.CUE);
  for (const word of WEAK_CUES.split(' ')) add(word, WordFlag.WEAK_CUE);
  for (const word of LIST_WORDS.split(' ')) add(word, WordFlag.LIST);
  for (const word of SIGN_OFFS.split(' ')) add(word, WordFlag.SIGN_OFF);
  for (const word of VERB_CUES.split(' ')) add(word, WordFlag.VERB_CUE);
  cached = {
    flags: (h1, h2) => table.get(h1, h2),
    flagsOf: (word) => {
      const [h1, h2] = wordHash(word);
      return table.get(h1, h2);
    },
    notPeoplePhrases,
    longestPhrase,
  };
  return cached;
}

const COMBINING_MARKS = /[\u0300-\u036f]/g;
const NON_ASCII = /[^ -~\t\n\r]/;

/** Lowercase without accents (`José` → `jose`, `Ålesund` → `alesund`): directory and phrase matching. */
export function foldWord(word: string): string {
  const lower = word.toLowerCase();
  return NON_ASCII.test(lower) ? lower.normalize('NFD').replace(COMBINING_MARKS, '') : lower;
}
