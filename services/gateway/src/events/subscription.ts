import { AppError } from '@orgmesh/contracts';

/** The contexts whose lifecycle events the gateway streams (their owners publish to `<context>.v<n>.*`). */
export const EVENT_CONTEXTS = ['sessions', 'mesh', 'registry'] as const;
export type EventContext = (typeof EVENT_CONTEXTS)[number];

const TOKEN = /^(?:[a-z0-9][a-z0-9-]*|\*|>)$/;

/** One subscription's subject patterns, grouped by the stream (context) that holds them. */
export type SubjectPlan = Map<EventContext, string[]>;

function invalid(message: string): AppError {
  return new AppError('validation_failed', message, {
    details: { issues: [{ path: 'query.subject', message }] },
  });
}

/**
 * Parses `subject`: comma-separated NATS patterns over the event contexts, e.g. `sessions.v1.*`,
 * `mesh.>`, `registry.v1.drift-detected`, or `>` / `*.v1.*` for every context. Default: all.
 */
export function planSubjects(filter: string | undefined): SubjectPlan {
  const plan: SubjectPlan = new Map();
  const add = (context: EventContext, pattern: string) => {
    const list = plan.get(context) ?? [];
    if (!list.includes(pattern)) list.push(pattern);
    plan.set(context, list);
  };
  const patterns = (filter ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!patterns.length) {
    for (const context of EVENT_CONTEXTS) add(context, `${context}.>`);
    return plan;
  }
  if (patterns.length > 20) throw invalid('at most 20 subject patterns');
  for (const pattern of patterns) {
    const tokens = pattern.split('.');
    if (tokens.some((t) => !TOKEN.test(t)) || tokens.slice(0, -1).includes('>')) {
      throw invalid(`"${pattern}" is not a subject pattern (lowercase tokens, * for one token, > only last)`);
    }
    const [first, ...rest] = tokens as [string, ...string[]];
    if (first === '>') {
      for (const context of EVENT_CONTEXTS) add(context, `${context}.>`);
    } else if (first === '*') {
      if (!rest.length) throw invalid(`"${pattern}" matches no event subject`);
      for (const context of EVENT_CONTEXTS) add(context, [context, ...rest].join('.'));
    } else if ((EVENT_CONTEXTS as readonly string[]).includes(first)) {
      if (!rest.length) throw invalid(`"${pattern}" matches no event subject; try ${first}.>`);
      add(first as EventContext, pattern);
    } else {
      throw invalid(`"${first}" is not one of the event contexts ${EVENT_CONTEXTS.join(', ')}`);
    }
  }
  return plan;
}

/** Stream positions of a subscription: the last sequence delivered (or skipped) per context. */
export type Positions = Map<EventContext, number>;

/**
 * The SSE `id` / resume cursor of an event. A subscription over one context uses the plain JetStream
 * sequence (`42`); over several, the position of every context (`sessions:42,mesh:7,registry:0`),
 * since sequences are per stream and Last-Event-ID carries only the last id.
 */
export function formatCursor(contexts: readonly EventContext[], positions: Positions): string {
  if (contexts.length === 1) return String(positions.get(contexts[0] as EventContext) ?? 0);
  return contexts.map((c) => `${c}:${positions.get(c) ?? 0}`).join(',');
}

/** Where a cursor came from, for the `issues` path of a refusal (`cursor`: the gRPC field). */
export type CursorSource = 'header.Last-Event-ID' | 'query.lastEventId' | 'cursor';

/** A refused cursor: malformed, out of range, or beyond the head of its stream. */
export function invalidCursor(message: string, source: CursorSource = 'header.Last-Event-ID'): AppError {
  const what = source === 'cursor' ? 'cursor' : 'Last-Event-ID';
  return new AppError('invalid_cursor', `invalid ${what}: ${message}`, {
    details: { issues: [{ path: source, message }] },
  });
}

/** A stream sequence as JetStream can hold it; longer digit runs would lose precision as a number. */
const SEQUENCE = /^\d{1,16}$/;

function sequence(text: string, source: CursorSource): number {
  const value = SEQUENCE.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw invalidCursor('sequence out of range', source);
  return value;
}

/**
 * Parses a Last-Event-ID / cursor into the positions it names (contexts it omits start at "now").
 * Only the syntax is checked here; the event hub refuses positions beyond each stream's head.
 */
export function parseCursor(
  contexts: readonly EventContext[],
  cursor: string | undefined,
  source: CursorSource = 'header.Last-Event-ID',
): Positions {
  const positions: Positions = new Map();
  const value = cursor?.trim();
  if (!value) return positions;
  if (/^\d+$/.test(value)) {
    if (contexts.length !== 1)
      throw invalidCursor(
        'a plain sequence is ambiguous over several contexts; use context:seq pairs',
        source,
      );
    positions.set(contexts[0] as EventContext, sequence(value, source));
    return positions;
  }
  const parts = value.split(',');
  if (parts.length > EVENT_CONTEXTS.length)
    throw invalidCursor('expected a sequence or context:seq pairs', source);
  const named = new Set<string>();
  for (const part of parts) {
    const m = /^([a-z-]+):(\d+)$/.exec(part.trim());
    if (!m?.[1] || m[2] === undefined)
      throw invalidCursor('expected a sequence or context:seq pairs', source);
    // Never issued by the gateway; which of two positions to trust would be a guess.
    if (named.has(m[1])) throw invalidCursor(`${m[1]} appears twice`, source);
    named.add(m[1]);
    const seq = sequence(m[2], source);
    if ((contexts as readonly string[]).includes(m[1])) positions.set(m[1] as EventContext, seq);
  }
  return positions;
}
