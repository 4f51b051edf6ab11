import { streamNameFor } from '@orgmesh/contracts';

/**
 * Naming rules of one bus namespace. A namespace is a subject prefix plus a stream/durable name
 * suffix; production uses none, tests and benchmarks use a unique one each so runs never meet.
 */
export interface Namespace {
  /** Prepended verbatim to every subject, e.g. `t1a2b3c.` (keep the trailing dot). */
  readonly subjectPrefix: string;
  /** Appended to every stream and durable name, e.g. `_T1A2B3C`. */
  readonly nameSuffix: string;
}

const SUBJECT_PREFIX = /^([A-Za-z0-9_-]+\.)*$/;
// Stream and consumer names may not contain these (NATS: no whitespace, '.', '*', '>', path separators).
const INVALID_NAME_CHARS = /[\s.*>/\\]/g;

export function validateNamespace(ns: Namespace): void {
  if (!SUBJECT_PREFIX.test(ns.subjectPrefix)) {
    throw new Error(
      `invalid subjectPrefix "${ns.subjectPrefix}": expected dot-terminated tokens like "t123."`,
    );
  }
  if (ns.nameSuffix.replace(INVALID_NAME_CHARS, '') !== ns.nameSuffix) {
    throw new Error(`invalid nameSuffix "${ns.nameSuffix}": no dots, wildcards, slashes or whitespace`);
  }
}

/** The wire subject for a contract subject. */
export function prefixSubject(ns: Namespace, raw: string): string {
  return `${ns.subjectPrefix}${raw}`;
}

/** The contract subject for a wire subject (the inverse of prefixSubject; unchanged if it lacks the prefix). */
export function unprefixSubject(ns: Namespace, wire: string): string {
  return ns.subjectPrefix && wire.startsWith(ns.subjectPrefix) ? wire.slice(ns.subjectPrefix.length) : wire;
}

/** Stream owned by a context: `sessions` → `SESSIONS<suffix>`. */
export function contextStreamName(ns: Namespace, context: string): string {
  return sanitizeName(`${streamNameFor(context)}${ns.nameSuffix}`);
}

/** A durable consumer name with the namespace suffix; characters NATS refuses become `_`. */
export function durableNameFor(ns: Namespace, name: string): string {
  return sanitizeName(`${name}${ns.nameSuffix}`);
}

export function sanitizeName(name: string): string {
  return name.replace(INVALID_NAME_CHARS, '_');
}

/**
 * The durable name a service uses for one event contract (ARCHITECTURE §2):
 * `<consumer>--<context>-v1-<event>`, i.e. the subject with dots turned into dashes.
 */
export function conventionalDurable(consumer: string, eventSubject: string): string {
  return `${consumer}--${eventSubject.replace(/\./g, '-')}`;
}

/** Dead letters of a namespace: `<prefix>dlq.<original contract subject>`. */
export function deadLetterSubject(ns: Namespace, rawSubject: string): string {
  return `${ns.subjectPrefix}dlq.${rawSubject}`;
}

/** The one dead-letter stream of a namespace, capturing `<prefix>dlq.>`. */
export function deadLetterStreamName(ns: Namespace): string {
  return sanitizeName(`DLQ${ns.nameSuffix}`);
}

/** The context (first token) of a contract subject: `sessions.v1.created` → `sessions`. */
export function contextOfSubject(rawSubject: string): string {
  const first = rawSubject.split('.')[0];
  return first === 'rpc' ? (rawSubject.split('.')[1] ?? '') : (first ?? '');
}
