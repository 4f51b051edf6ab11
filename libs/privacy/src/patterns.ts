/**
 * Regular-expression sources of the built-in detectors. They are compiled once, joined into one
 * alternation (one pass over the text), and validated in code (checksums, shapes, context), because a
 * regex alone cannot tell a card from an order number. Each alternative owns uniquely named groups.
 *
 * Alternatives that need context ("date of birth: …") match the cue and end with the entity group, so
 * the entity is always the tail of the match.
 */

const MONTH =
  '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';

/** Numeric and written dates (day-month and month-day orders, ISO). */
export const DATE =
  '(?:\\d{1,2}[./-]\\d{1,2}[./-](?:\\d{4}|\\d{2})' +
  '|\\d{4}[./-]\\d{1,2}[./-]\\d{1,2}' +
  `|(?i:${MONTH})\\.?[ ]\\d{1,2}(?:st|nd|rd|th)?,?[ ]\\d{4}` +
  `|\\d{1,2}(?:st|nd|rd|th)?[ ](?:of[ ])?(?i:${MONTH})\\.?,?[ ]\\d{4})(?![\\d])`;

/** A capitalised name word: `Smith`, `O'Brien`, `McDonald`, `Smith-Jones`, `José`, `Zoë`. */
const NAME_WORD = "\\p{Lu}[\\p{L}'’]*\\p{Ll}(?:-\\p{Lu}[\\p{L}'’]*\\p{Ll})?(?![\\p{L}\\p{N}])";
const NAME_PARTICLE = '(?:van|von|de|da|del|der|den|di|du|la|le|bin|al|ter|dos)';
/** One to three name words, with an optional middle initial and nobiliary particles. */
export const NAME = `${NAME_WORD}(?:[ ]\\p{Lu}\\.)?(?:[ ](?:${NAME_PARTICLE}[ ])?${NAME_WORD}){0,3}`;

const HEX4 = '[0-9A-Fa-f]';

export interface AlternativeSource {
  /** The named group whose presence tells which alternative matched. */
  readonly name: string;
  readonly source: string;
}

/** In priority order: when two alternatives match at the same position, the earlier one wins. */
export const ALTERNATIVES: readonly AlternativeSource[] = [
  {
    name: 'email',
    source:
      "(?<email>(?<![A-Za-z0-9._%+\\-])[A-Za-z0-9][A-Za-z0-9._%+'\\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\\-]{0,61}[A-Za-z0-9])?" +
      '(?:\\.[A-Za-z0-9](?:[A-Za-z0-9\\-]{0,61}[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}(?![A-Za-z0-9\\-]))',
  },
  {
    // john.doe [at] example [dot] com, jane(at)example.org
    name: 'emailobf',
    source:
      '(?<emailobf>(?<![A-Za-z0-9._%+\\-])[A-Za-z0-9][A-Za-z0-9._%+\\-]{0,63}[ ]?[\\[({<][ ]?(?i:at)[ ]?[\\])}>][ ]?[A-Za-z0-9\\-]{1,63}' +
      '(?:(?:\\.|[ ]?[\\[({<][ ]?(?i:dot)[ ]?[\\])}>][ ]?)[A-Za-z0-9\\-]{1,63})+(?![A-Za-z0-9\\-]))',
  },
  {
    name: 'iban',
    // Any case, groups separated by a space or a dash ("de36 5001 …", "DE89-3704-…"); the checksum decides.
    source: '(?<iban>(?<![A-Za-z0-9])[A-Za-z]{2}\\d{2}(?:[ \\-]?[A-Za-z0-9]){11,30})',
  },
  {
    name: 'ssnctx',
    source:
      '(?<ssnctx>(?i:\\b(?:ssn|social[ ]security(?:[ ](?:number|no|#))?|ss[ ]?#))[\\s:#.=\\-]{0,4}(?:(?i:is)[ ]+)?' +
      '(?<ssnctxnum>\\d{3}[ .\\-]?\\d{2}[ .\\-]?\\d{4})(?![\\d]))',
  },
  {
    name: 'dob',
    source:
      '(?<dob>(?i:\\b(?:date[ ]of[ ]birth|birth[ ]?date|d\\.o\\.b\\.?|dob|born(?:[ ]on)?|birthday|geburtsdatum|fecha[ ]de[ ]nacimiento))' +
      `(?:[ ]?\\([^)\\n]{0,20}\\))?[\\s:=,(\\-–]{0,4}(?:(?i:is|was|on|on[ ]file|given[ ]as|listed[ ]as|recorded[ ]as)[\\s:]+)?(?<dobdate>${DATE}))`,
  },
  {
    name: 'acct',
    source:
      '(?<acct>(?i:\\b(?:(?:bank[ ])?account|acct|a/c|konto(?:nummer)?|routing|aba|sort[ ]code|bsb)(?:[ ]?(?:number|num|no|nr|#))?\\.?)' +
      '[\\s:#=.\\-]{0,4}(?:(?i:is|was)[ ]+)?(?<acctnum>\\d(?:[\\d \\-]{3,24}\\d)?)(?![\\d]))',
  },
  {
    name: 'emp',
    source:
      '(?<emp>(?i:\\b(?:employee|staff|personnel|emp)[ _\\-]?(?:(?:id|number|no|nr|num)\\b\\.?|#))' +
      '[\\s:#=.\\-]{0,4}(?<empid>[A-Za-z]{0,4}[\\-_]?\\d[A-Za-z0-9\\-]{1,15})(?![A-Za-z0-9]))',
  },
  {
    name: 'title',
    source: `(?<title>(?<![\\p{L}])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Sr|Sra)\\.?[ ]+(?<titlename>${NAME}))`,
  },
  {
    name: 'pcue',
    source:
      '(?<pcue>(?<pcueword>(?i:\\b(?:dear|hi|hello|full[ ]name|name|employee|patient|customer|client|applicant|candidate|tenant|' +
      'contact[ ]person|contact|attn|attention|signed[ ]by|prepared[ ]by|approved[ ]by|requested[ ]by|reported[ ]by|' +
      'submitted[ ]by|assigned[ ]to|spouse|beneficiary|cardholder|account[ ]holder|passport[ ]holder|policy[ ]?holder|holder|' +
      'recipient|colleague|dependent|dependant|next[ ]of[ ]kin|guarantor|borrower|claimant|complainant|employee[ ]name)\\b))' +
      `(?:[ ]*[:=][ ]*|[ ]+(?:(?i:is)[ ]+)?|,[ ]+)(?<pcuename>${NAME}))`,
  },
  {
    name: 'sig',
    source:
      '(?<sig>(?i:\\b(?:(?:best|kind|warm)[ ])?regards|\\bsincerely|\\bcheers|\\bbest[ ]wishes)[ ]*,?[ \\t]*\\r?\\n[ \\t]*' +
      `(?<signame>${NAME}))`,
  },
  {
    name: 'ssn',
    source: '(?<ssn>(?<![\\d\\-])\\d{3}(?<ssnsep>[\\- ])\\d{2}\\k<ssnsep>\\d{4}(?![\\d]|-\\d))',
  },
  {
    name: 'ipv4',
    source:
      '(?<ipv4>(?<![\\d.])(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?![\\d]|\\.\\d))',
  },
  {
    name: 'ipv6',
    source: `(?<ipv6>(?<![\\w:.])(?:${HEX4}{0,4}:){2,7}(?:\\d{1,3}(?:\\.\\d{1,3}){3}|${HEX4}{1,4})?(?![\\w:]|\\.\\d))`,
  },
  {
    // Phone numbers and cards: digit groups with unambiguous separators, classified in code.
    name: 'numseq',
    source:
      '(?<numseq>(?:(?<![\\w+/.\\-#])\\+[ ]?|(?<![\\w+/.:\\-#])(?:00)?)(?:\\(\\d{1,5}\\)|\\d{1,19})' +
      '(?:(?:[ ]?/[ ]?|[ ]-[ ]|[ .\\-]|(?<=\\))[ ]?|(?=\\())(?:\\(\\d{1,5}\\)|\\d{1,19})){0,7}(?![\\w]|[.\\-/]\\d))',
  },
];
