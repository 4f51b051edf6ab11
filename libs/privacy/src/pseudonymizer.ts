import { randomUUID } from 'node:crypto';
import type { Entity, EntityType } from './entity.js';
import { labelFor } from './entity.js';
import type { PseudonymScope } from './profile.js';
import { HmacSha256 } from './hmac-sha256.js';

/**
 * Placeholder format: `[[LABEL_hhhhhhhh]]`, e.g. `[[EMAIL_3f9a1c2b]]`.
 *
 * - `LABEL` is the entity type in ASCII capitals (EMAIL, PHONE, SSN, CARD, IBAN, IP, DOB, ACCOUNT,
 *   PERSON, EMPLOYEE, TERM, or a custom pattern's name without separators) so the model knows what
 *   stands there and can write about it naturally.
 * - `hhhhhhhh` is the first 8 hex digits of HMAC-SHA256(key, scope ␀ type ␀ normalised value), the
 *   scope being the tenant and the profile's pseudonym scope ({@link pseudonymKeyScope}: by default
 *   the workflow): the same value gets the same placeholder within a scope and unrelated ones across
 *   scopes, and no one without the key can test a guess. When two values of one request collide on 8
 *   digits, the later one gets 16.
 * - Double square brackets are plain ASCII that tokenizers keep as single tokens and models copy
 *   verbatim; the `LABEL_hex` core practically never occurs in ordinary prose or code.
 *
 * Restoring is tolerant: label and digits in any case, one or both brackets on either side dropped
 * (`EMAIL_3f9a1c2b`, `[email_3F9A1C2B]`), a markdown-escaped underscore (`EMAIL\_3f9a1c2b`).
 */

const SHORT_DIGITS = 8;
const LONG_DIGITS = 16;

/** A placeholder's identity: uppercase label and lowercase digits, e.g. `EMAIL_3f9a1c2b`. */
export type PlaceholderKey = string;

/**
 * The restore mapping of one request, built from that request's own content: placeholder key → the
 * original value (first surface form seen). It lives only as long as the request.
 */
export class PlaceholderMapping {
  private readonly values = new Map<PlaceholderKey, string>();
  private readonly normalised = new Map<PlaceholderKey, string>();
  private readonly labelSet = new Set<string>();
  /** type ␀ normalised value → placeholder text, so a value repeated in a request is hashed once. */
  private readonly byValue = new Map<string, string>();

  get size(): number {
    return this.values.size;
  }

  /** Labels present in the mapping (uppercase). */
  get labels(): ReadonlySet<string> {
    return this.labelSet;
  }

  get(key: PlaceholderKey): string | undefined {
    return this.values.get(key);
  }

  /** @internal used by the pseudonymizer; returns false when `key` already maps to another value. */
  claim(key: PlaceholderKey, label: string, normalisedValue: string, original: string): boolean {
    const existing = this.normalised.get(key);
    if (existing !== undefined) return existing === normalisedValue;
    this.normalised.set(key, normalisedValue);
    this.values.set(key, original);
    this.labelSet.add(label);
    return true;
  }

  /** @internal */
  placeholderFor(typeAndValue: string): string | undefined {
    return this.byValue.get(typeAndValue);
  }

  /** @internal */
  rememberPlaceholder(typeAndValue: string, placeholder: string): void {
    this.byValue.set(typeAndValue, placeholder);
  }

  entries(): IterableIterator<[PlaceholderKey, string]> {
    return this.values.entries();
  }
}

/** Canonical form of a value, so that `4111 1111 1111 1111` and `4111111111111111` share a placeholder. */
export function normaliseValue(type: EntityType, value: string): string {
  switch (type) {
    case 'email':
      return value.toLowerCase();
    case 'credit_card':
    case 'ssn':
    case 'account_number':
      return value.replace(/[^0-9]/g, '');
    case 'phone':
      return value.replace(/[^0-9+]/g, '');
    case 'iban':
    case 'employee_id':
      return value.replace(/[\s-]/g, '').toUpperCase();
    case 'person':
    case 'deny_list':
      return value.toLowerCase().replace(/\s+/g, ' ').trim();
    default:
      return value.trim();
  }
}

/** Where a request belongs, for the scope of its placeholders (see {@link pseudonymKeyScope}). */
export interface PseudonymContext {
  /** The workflow: the task's A2A contextId, shared by every role that works on it. */
  readonly contextId?: string;
  /** The caller's role (the `role` scope). */
  readonly role?: string;
  /** The agent work session, when the caller names one and no workflow is known. */
  readonly sessionId?: string;
  /**
   * The conversation, when neither is known: a hash of the caller and the request's opening messages,
   * which every turn of one conversation sends again (so a re-sent signed thinking block or a cached
   * prompt prefix keeps its placeholders), and another conversation does not.
   */
  readonly conversation?: string;
}

/**
 * The key scope of a request's placeholders: what the HMAC is keyed with next to the value, in place
 * of the bare tenant. One value keeps one placeholder within a scope and gets unrelated ones across
 * scopes, so the provider cannot link a person across workflows (issue 19):
 *
 * - `workflow` (default): the workflow's contextId — the same person keeps one placeholder through a
 *   Finance → Manager → Legal hand-off, and gets another in the next workflow. Without a contextId:
 *   the session, else the conversation (its opening messages), else this request alone (a random
 *   scope) — never the org-wide one.
 * - `role`: every workflow of the caller's role (a role that needs longer continuity).
 * - `org`: the whole tenant (the placeholders of before scopes existed).
 *
 * Restoring never depends on the scope: the mapping is built from the request's own content only.
 */
export function pseudonymKeyScope(
  tenant: string,
  scope: PseudonymScope | undefined,
  context: PseudonymContext,
): string {
  switch (scope ?? 'workflow') {
    case 'org':
      return tenant;
    case 'role':
      if (context.role) return `${tenant}\u0000role\u0000${context.role}`;
      break;
    case 'workflow':
      break;
  }
  if (context.contextId) return `${tenant}\u0000workflow\u0000${context.contextId}`;
  if (context.sessionId) return `${tenant}\u0000session\u0000${context.sessionId}`;
  if (context.conversation) return `${tenant}\u0000conversation\u0000${context.conversation}`;
  return `${tenant}\u0000request\u0000${randomUUID()}`;
}

/** Keyed, deterministic placeholders for detected values. */
export class Pseudonymizer {
  // Not createHmac: a native object per placeholder, each a weak handle for the next collection.
  private readonly hmac: HmacSha256;

  /** @param key the HMAC key (at least 16 bytes); the same key must be used by every proxy replica. */
  constructor(key: string | Uint8Array) {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (bytes.length < 16) throw new RangeError('pseudonymizer key must be at least 16 bytes');
    this.hmac = new HmacSha256(bytes);
  }

  /** The placeholder text for a value, registering it in `mapping` for restoring. */
  placeholder(tenant: string, type: EntityType, value: string, mapping: PlaceholderMapping): string {
    const norm = normaliseValue(type, value);
    const memo = `${type}\u0000${norm}`;
    const known = mapping.placeholderFor(memo);
    if (known !== undefined) return known;
    const label = labelFor(type);
    // The joined string: the same bytes as updating part by part (so the same placeholders as before).
    const digest = this.hmac.digest(`${tenant}\u0000${type}\u0000${norm}`, 'hex');
    let key = `${label}_${digest.slice(0, SHORT_DIGITS)}`;
    if (!mapping.claim(key, label, norm, value)) {
      key = `${label}_${digest.slice(0, LONG_DIGITS)}`;
      mapping.claim(key, label, norm, value);
    }
    const placeholder = `[[${key}]]`;
    mapping.rememberPlaceholder(memo, placeholder);
    return placeholder;
  }

  /**
   * Replaces the given entities of `text` by placeholders. Entities must be sorted and non-overlapping
   * (as the detector returns them).
   */
  mask(tenant: string, text: string, entities: readonly Entity[], mapping: PlaceholderMapping): string {
    if (entities.length === 0) return text;
    let out = '';
    let cursor = 0;
    for (const e of entities) {
      out +=
        text.slice(cursor, e.start) + this.placeholder(tenant, e.type, text.slice(e.start, e.end), mapping);
      cursor = e.end;
    }
    return out + text.slice(cursor);
  }
}
