import { createRequire } from 'node:module';
import nlp from 'compromise';

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
 * knowledge of names, and a hash lookup per word is all the request path pays.
 */
export interface NamesLexicon {
  readonly firstNames: ReadonlySet<string>;
  readonly lastNames: ReadonlySet<string>;
  /** Proper nouns that are not people (places, organisations, months…), one word. */
  readonly notPeople: ReadonlySet<string>;
  /** Words that end or break a name: job titles, company, product, street and calendar words. */
  readonly businessWords: ReadonlySet<string>;
  /** The same, several words, folded and joined by one space. */
  readonly notPeoplePhrases: ReadonlySet<string>;
  /** Longest phrase in `notPeoplePhrases`, in words. */
  readonly longestPhrase: number;
  readonly englishWords: ReadonlySet<string>;
}

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
  'october november december today tomorrow yesterday q1 q2 q3 q4 ceo cfo cto coo ciso vp svp evp';

let cached: NamesLexicon | undefined;

interface CompromiseModel {
  one: { lexicon: Record<string, string | string[]> };
  two: { orgWords: Record<string, unknown>; placeWords: Record<string, unknown> };
}

/** The lexicon, built on first use (~0.3 s, ~30 MB) and shared by every recogniser of the process. */
export function namesLexicon(): NamesLexicon {
  if (cached) return cached;
  const model = nlp.model() as unknown as CompromiseModel;
  const firstNames = new Set<string>();
  const lastNames = new Set<string>();
  const notPeople = new Set<string>();
  const notPeoplePhrases = new Set<string>();
  let longestPhrase = 1;
  for (const [entry, value] of Object.entries(model.one.lexicon)) {
    const tags = Array.isArray(value) ? value : [value];
    const word = foldWord(entry);
    const phrase = word.includes(' ');
    if (tags.some((t) => NOT_PEOPLE_TAGS.has(t))) {
      if (phrase) {
        notPeoplePhrases.add(word);
        longestPhrase = Math.max(longestPhrase, word.split(' ').length);
      } else notPeople.add(word);
      continue;
    }
    if (phrase) continue;
    if (tags.some((t) => FIRST_NAME_TAGS.has(t))) firstNames.add(word);
    if (tags.some((t) => LAST_NAME_TAGS.has(t))) lastNames.add(word);
  }
  const businessWords = new Set<string>(BUSINESS_WORDS.split(' '));
  for (const word of Object.keys(model.two.orgWords)) businessWords.add(foldWord(word));
  for (const word of Object.keys(model.two.placeWords)) businessWords.add(foldWord(word));
  const require = createRequire(import.meta.url);
  const englishWords = new Set<string>(require('an-array-of-english-words') as string[]);
  cached = { firstNames, lastNames, notPeople, businessWords, notPeoplePhrases, longestPhrase, englishWords };
  return cached;
}

const COMBINING_MARKS = /[\u0300-\u036f]/g;
const NON_ASCII = /[^ -~\t\n\r]/;

/** Lowercase without accents (`José` → `jose`, `Ålesund` → `alesund`), the key of every lookup. */
export function foldWord(word: string): string {
  const lower = word.toLowerCase();
  return NON_ASCII.test(lower) ? lower.normalize('NFD').replace(COMBINING_MARKS, '') : lower;
}
