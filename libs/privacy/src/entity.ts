import type { PrivacyEntityType } from '@orgmesh/contracts';

/**
 * An entity type: a built-in one (the registry's `PRIVACY_ENTITY_TYPES`, the names role profiles
 * use for per-entity overrides), or the name of a profile's custom pattern (kebab-case), or whatever
 * an external NER hook reports (normalised to lowercase snake/kebab case).
 */
export type EntityType = PrivacyEntityType | (string & {});

/** One detected span of `text`: `[start, end)` in UTF-16 code units, as `String.prototype.slice` takes them. */
export interface Entity {
  readonly type: EntityType;
  readonly start: number;
  readonly end: number;
  /** Confidence in [0, 1]; deterministic per rule, used to resolve overlaps. */
  readonly score: number;
  /** The matched text; present only when the caller asked for it (never logged). */
  readonly text?: string;
}

const LABELS: Record<PrivacyEntityType, string> = {
  email: 'EMAIL',
  phone: 'PHONE',
  ssn: 'SSN',
  credit_card: 'CARD',
  iban: 'IBAN',
  ip_address: 'IP',
  date_of_birth: 'DOB',
  account_number: 'ACCOUNT',
  person: 'PERSON',
  employee_id: 'EMPLOYEE',
  deny_list: 'TERM',
};

/**
 * The placeholder label of a type: ASCII capitals only, so that a placeholder's label is exactly the
 * run of letters before its `_` and can be recognised without backtracking (see restorer.ts).
 */
export function labelFor(type: EntityType): string {
  const builtin = (LABELS as Record<string, string | undefined>)[type];
  if (builtin) return builtin;
  const letters = type.toUpperCase().replace(/[^A-Z]/g, '');
  return letters.length > 0 ? letters.slice(0, 24) : 'CUSTOM';
}
