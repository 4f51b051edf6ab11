import {
  CONTEXT_OWNERS,
  EVENT_ACCESS,
  RPC_ACCESS,
  STORE_ACCESS,
  agentInboxDurable,
  agentInboxSubject,
  roleInboxDurable,
  roleInboxSubject,
  type BusRole,
  type EventAccess,
} from '@orgmesh/contracts';
import {
  contextStreamName,
  deadLetterStreamName,
  durableNameFor,
  prefixSubject,
  type Namespace,
} from './names.js';

/**
 * One bus identity: a service (its name is its role), or one agent, whose credential is confined
 * to its own role inbox and agent inbox.
 */
export type BusIdentity =
  | { readonly role: Exclude<BusRole, 'agent'> }
  | { readonly role: 'agent'; readonly agentId: string; readonly agentRole: string };

/** What one identity may publish and subscribe to (NATS `permissions`), allow-lists only. */
export interface BusPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /**
   * May answer the requests it receives (NATS `allow_responses`: one reply to each reply subject it
   * was handed): a responder needs no publish right on any caller's inbox, so no identity may
   * publish into another's inbox unasked.
   */
  readonly allowResponses: boolean;
}

// Agent ids and roles become subject tokens and consumer names: nothing NATS would read as syntax.
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** The identity's name: its NATS user, client name and inbox token (`agent-<agentId>` for an agent). */
export function identityName(identity: BusIdentity): string {
  if (identity.role !== 'agent') return identity.role;
  for (const [key, value] of [
    ['agentId', identity.agentId],
    ['agentRole', identity.agentRole],
  ] as const) {
    if (!TOKEN.test(value)) throw new Error(`invalid ${key} "${value}": letters, digits, - and _ only`);
  }
  return `agent-${identity.agentId}`;
}

/**
 * The reply-subject prefix of an identity's connection (nats.js `inboxPrefix`): each identity may
 * subscribe only under its own, so no one overhears another's replies or JetStream deliveries.
 */
export function inboxPrefixFor(name: string): string {
  if (!TOKEN.test(name)) throw new Error(`invalid identity name "${name}"`);
  return `_INBOX.${name}`;
}

class AllowList {
  readonly publish = new Set<string>();
  readonly subscribe = new Set<string>();
}

/**
 * The publish/subscribe allow-lists of one identity in one namespace, computed from the contracts'
 * access table (libs/contracts access.ts) — never written by hand:
 *
 * - an RPC's owner (CONTEXT_OWNERS) subscribes to its subject and answers with allow_responses;
 *   its callers publish to it;
 * - a context's owner publishes its events and provisions its streams;
 * - a stream consumer reads the streams of the events it consumes (consumer API on those streams
 *   only; an agent only its own two durables with their filters pinned);
 * - a core subscriber subscribes to the event subjects it listens to;
 * - a store's owner (STORE_ACCESS) provisions, writes, reads and purges its own stream;
 * - everyone subscribes to its own inbox prefix and asks `$JS.API.INFO`.
 */
export function busPermissions(identity: BusIdentity, ns: Namespace): BusPermissions {
  const name = identityName(identity);
  const role = identity.role;
  const allow = new AllowList();
  const subject = (raw: string) => prefixSubject(ns, raw);
  allow.subscribe.add(`${inboxPrefixFor(name)}.>`);
  allow.publish.add('$JS.API.INFO');
  let serves = false;

  for (const { rpc, callers } of RPC_ACCESS) {
    if (CONTEXT_OWNERS[rpc.context] === role) {
      allow.subscribe.add(subject(rpc.subject));
      serves = true;
    }
    if (callers.includes(role)) allow.publish.add(subject(rpc.subject));
  }

  for (const access of EVENT_ACCESS) {
    const stream = streamOf(access, ns);
    if (ownsIt(access, role)) {
      for (const raw of publishedOn(access)) allow.publish.add(subject(raw));
      addStreamAdmin(allow, stream);
    }
    if (access.coreSubscribers?.includes(role)) allow.subscribe.add(subject(access.event.subject));
    if (access.perSender) addPerSender(allow, identity, access.perSender, subject, ownsIt(access, role));
    if (access.streamConsumers?.includes(role)) {
      if (identity.role === 'agent') addAgentInboxes(allow, identity, ns, stream);
      else addStreamReader(allow, ns, stream, publishedOn(access));
    }
    if (access.deadLetterConsumers?.includes(role)) {
      const dlq = deadLetterStreamName(ns);
      addStreamAdmin(allow, dlq);
      addStreamReader(allow, ns, dlq, []);
    }
  }

  for (const store of STORE_ACCESS) {
    if (store.owner !== role) continue;
    const stream = contextStreamName(ns, store.stream);
    addStreamAdmin(allow, stream);
    allow.publish.add(`$JS.API.STREAM.MSG.GET.${stream}`);
    allow.publish.add(`$JS.API.STREAM.PURGE.${stream}`);
    for (const raw of store.subjects) allow.publish.add(subject(raw));
  }

  return {
    publish: [...allow.publish].sort(),
    subscribe: [...allow.subscribe].sort(),
    allowResponses: serves,
  };
}

function ownsIt(access: EventAccess, role: BusRole): boolean {
  return CONTEXT_OWNERS[access.event.context] === role;
}

/**
 * The per-sender copies of an event: its owner publishes to any sender's subject; an agent
 * subscribes to its own only (`<subject>.<agentId>`), a service to all.
 */
function addPerSender(
  allow: AllowList,
  identity: BusIdentity,
  perSender: NonNullable<EventAccess['perSender']>,
  subject: (raw: string) => string,
  owner: boolean,
): void {
  if (owner) allow.publish.add(subject(`${perSender.subject}.*`));
  if (!perSender.subscribers.includes(identity.role)) return;
  allow.subscribe.add(subject(`${perSender.subject}.${identity.role === 'agent' ? identity.agentId : '*'}`));
}

function publishedOn(access: EventAccess): readonly string[] {
  return access.publishedOn ?? [access.event.subject];
}

function streamOf(access: EventAccess, ns: Namespace): string {
  return contextStreamName(ns, access.stream ?? access.event.context);
}

/** Create, inspect and update a stream the identity owns (ensureStream, ensureWorkQueue). */
function addStreamAdmin(allow: AllowList, stream: string): void {
  for (const op of ['INFO', 'CREATE', 'UPDATE']) allow.publish.add(`$JS.API.STREAM.${op}.${stream}`);
}

/**
 * Read a stream through consumers of the identity's own making (durable or ordered), ack what it
 * took, and dead-letter what it cannot process (`dlq.<subject>` into the namespace's DLQ stream,
 * which any durable consumer provisions if it is missing).
 */
function addStreamReader(allow: AllowList, ns: Namespace, stream: string, subjects: readonly string[]): void {
  allow.publish.add('$JS.API.STREAM.NAMES');
  allow.publish.add(`$JS.API.STREAM.INFO.${stream}`);
  allow.publish.add(`$JS.API.CONSUMER.CREATE.${stream}.>`);
  allow.publish.add(`$JS.API.CONSUMER.INFO.${stream}.*`);
  allow.publish.add(`$JS.API.CONSUMER.MSG.NEXT.${stream}.*`);
  addAcks(allow, stream, '*');
  if (subjects.length > 0) addStreamAdmin(allow, deadLetterStreamName(ns));
  for (const raw of subjects) allow.publish.add(prefixSubject(ns, `dlq.${raw}`));
}

/**
 * An agent's two durables (its role's shared inbox and its own), with the filter subject pinned in
 * the create subject (`$JS.API.CONSUMER.CREATE.<stream>.<durable>.<filter>`, which the server checks
 * against the consumer's config) so it cannot read another role's inbox. Only INFO on the streams
 * the SDK checks at start: the mesh router provisions them.
 */
function addAgentInboxes(
  allow: AllowList,
  identity: Extract<BusIdentity, { role: 'agent' }>,
  ns: Namespace,
  stream: string,
): void {
  allow.publish.add('$JS.API.STREAM.NAMES');
  allow.publish.add(`$JS.API.STREAM.INFO.${stream}`);
  allow.publish.add(`$JS.API.STREAM.INFO.${contextStreamName(ns, 'mesh')}`);
  allow.publish.add(`$JS.API.STREAM.INFO.${deadLetterStreamName(ns)}`);
  const inboxes = [
    { durable: roleInboxDurable(identity.agentRole), raw: roleInboxSubject(identity.agentRole) },
    { durable: agentInboxDurable(identity.agentId), raw: agentInboxSubject(identity.agentId) },
  ];
  for (const { durable, raw } of inboxes) {
    const name = durableNameFor(ns, durable);
    allow.publish.add(`$JS.API.CONSUMER.CREATE.${stream}.${name}.${prefixSubject(ns, raw)}`);
    allow.publish.add(`$JS.API.CONSUMER.INFO.${stream}.${name}`);
    allow.publish.add(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`);
    addAcks(allow, stream, name);
    allow.publish.add(prefixSubject(ns, `dlq.${raw}`));
  }
}

/** `$JS.ACK.<stream>.<consumer>.…`, and the form with domain and account hash of newer servers. */
function addAcks(allow: AllowList, stream: string, consumer: string): void {
  allow.publish.add(`$JS.ACK.${stream}.${consumer}.>`);
  allow.publish.add(`$JS.ACK.*.*.${stream}.${consumer}.>`);
}

/** NATS subject matching: `*` one token, `>` one or more trailing tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Whether an allow-list admits a subject. */
export function allows(list: readonly string[], subject: string): boolean {
  return list.some((pattern) => subjectMatches(pattern, subject));
}
