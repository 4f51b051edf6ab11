import { z } from 'zod';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '@orgmesh/service-host/http-edge';
import { ALL_KINDS, defineRawRoute, type RawRoute, type RawRouteContext } from '../routes/route.js';
import type { GatewayMetrics } from '../gateway.metrics.js';
import { keepAlive, writeEventStreamHead, writeFrame } from '../http/sse.js';
import type { EventHub, LifecycleEvent } from './event-hub.js';
import { EVENT_CONTEXTS, planSubjects } from './subscription.js';
import { STREAM_TICKET_REFUSALS, TOKEN_IN_URL, type StreamTickets } from './stream-ticket.js';

const EventEnvelope = z.object({
  subject: z.string().describe('Contract subject, e.g. sessions.v1.transitioned'),
  sequence: z.number().int().describe("JetStream sequence in the context's stream"),
  eventId: z.string().nullable(),
  publishedAt: z.string(),
  payload: z.unknown().describe("The event's contract payload"),
});

/** The SSE `data` of one event (its id is the resume cursor, its event name the subject). */
export function sseData(event: LifecycleEvent): string {
  return JSON.stringify({
    subject: event.subject,
    sequence: event.sequence,
    eventId: event.eventId,
    publishedAt: event.publishedAt,
    payload: event.payload,
  });
}

const EVENTS_DESCRIPTION =
  `Contexts: ${EVENT_CONTEXTS.join(', ')}. \`subject\` filters with NATS patterns (comma-separated, e.g. ` +
  "`sessions.v1.*,mesh.v1.task-updated`); default all. Agents see their own role's sessions and tasks; admins " +
  'and viewers see everything; a signed-in person (ADR 0019) sees the task changes of the approvals routed to ' +
  'them, decided by them or waiting for someone who delegated to them (the mesh decides, event by event, live ' +
  'and replayed) and their own sessions. Each event: `id` = resume cursor (the JetStream sequence when one context is ' +
  'subscribed, `context:seq` pairs otherwise), `event` = subject, `data` = JSON envelope. Resume with ' +
  '`Last-Event-ID` (or `lastEventId`). Without it the stream starts at the current end. A cursor that is ' +
  'malformed, names a context twice, or lies beyond the head of a stream is 400 `invalid_cursor`. ' +
  'A browser `EventSource` cannot send the Authorization header: it passes `ticket` (from ' +
  '`POST /v1/events/tickets`) instead; a ticket that is used, expired or not one is 401 with `reason` ' +
  `\`${STREAM_TICKET_REFUSALS.used}\`, \`${STREAM_TICKET_REFUSALS.expired}\` or \`${STREAM_TICKET_REFUSALS.invalid}\`. ` +
  `A token in the URL (\`access_token\`) is refused (401, \`reason\` \`${TOKEN_IN_URL}\`).`;

const EventsQuery = z.object({
  subject: z.string().max(2000).optional().describe('Comma-separated subject patterns'),
  lastEventId: z
    .string()
    .max(500)
    .optional()
    .describe('Resume cursor, when the client cannot set Last-Event-ID'),
  ticket: z
    .string()
    .max(8200)
    .optional()
    .describe('Single-use stream ticket (POST /v1/events/tickets), instead of the Authorization header'),
});

interface EventsRouteOptions {
  heartbeatMs: number;
  metrics: GatewayMetrics;
}

/**
 * `GET /v1/events`: lifecycle events as server-sent events, filtered to what the caller may see.
 * Each event's `id` is its resume cursor (the JetStream sequence for one context); reconnecting with
 * `Last-Event-ID` resumes right after it.
 */
export function eventsRoute(hub: EventHub, options: EventsRouteOptions): RawRoute {
  return defineRawRoute({
    operationId: 'subscribeEvents',
    method: 'GET',
    path: '/v1/events',
    tag: 'events',
    summary: 'Subscribe to lifecycle events (server-sent events)',
    description: EVENTS_DESCRIPTION,
    access: [...ALL_KINDS, 'person'],
    streamTicket: true,
    query: EventsQuery,
    responses: {
      200: {
        description: 'An event stream; `data` of each event has this shape',
        contentType: 'text/event-stream',
        schema: EventEnvelope,
      },
    },
    errors: [400, 401, 403, 503],
    handle: (req, res, ctx) => streamEvents(hub, options, req, res, ctx),
  });
}

/** Opens the caller's subscription and writes it to the response as server-sent events until either side leaves. */
async function streamEvents(
  hub: EventHub,
  options: EventsRouteOptions,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RawRouteContext,
): Promise<void> {
  const plan = planSubjects(ctx.url.searchParams.get('subject') ?? undefined);
  const header = req.headers['last-event-id'];
  const fromHeader = typeof header === 'string';
  const lastEventId = fromHeader ? header : (ctx.url.searchParams.get('lastEventId') ?? undefined);
  const caller = ctx.caller;
  if (!caller) throw new Error('events route requires a caller');
  const subscription = await hub.subscribe({
    plan,
    cursor: lastEventId,
    cursorSource: fromHeader ? 'header.Last-Event-ID' : 'query.lastEventId',
    caller,
  });
  // Counted from here to the finally below, so the gauge agrees with the hub's open subscriptions.
  options.metrics.subscriptions.inc({ transport: 'sse' });
  const heartbeat = keepAlive(res, options.heartbeatMs);
  // Released when the socket closes, not at the next write: an idle stream's client may never come back.
  const release = () => void subscription.close();
  ctx.signal.addEventListener('abort', release, { once: true });
  // The client may have left while the subscription was being opened (the signal fired already).
  if (ctx.signal.aborted) release();
  try {
    writeEventStreamHead(res, 'text/event-stream; charset=utf-8');
    // HEAD checks the subscription (token, subjects, cursor) without holding a stream open.
    if (req.method !== 'HEAD') {
      // The first frame fixes the client's Last-Event-ID at the subscription's starting point.
      res.write(`retry: 2000\nid: ${subscription.cursor()}\n: subscribed\n\n`);
      for await (const event of subscription) {
        await writeFrame(res, `id: ${event.cursor}\nevent: ${event.subject}\ndata: ${sseData(event)}\n\n`);
        options.metrics.eventsDelivered.inc({ transport: 'sse' });
        if (res.destroyed) break;
      }
    }
  } finally {
    clearInterval(heartbeat);
    ctx.signal.removeEventListener('abort', release);
    options.metrics.subscriptions.dec({ transport: 'sse' });
    await subscription.close();
  }
  // A throw above reaches the server's answerError instead: it ends the started stream with an
  // `error` event (the client resumes from its Last-Event-ID), and logs and counts what is a bug.
  res.end();
}

const StreamTicketResponse = z.object({
  ticket: z.string().describe('Opaque; pass as `?ticket=` to GET /v1/events, once'),
  expiresAt: z.string().describe('ISO 8601; open the stream before then'),
});

/**
 * `POST /v1/events/tickets`: a short-lived, single-use ticket that opens `GET /v1/events` as the
 * caller, for a browser's `EventSource`, which cannot send an Authorization header.
 */
export function streamTicketsRoute(tickets: StreamTickets, ttlMs: number): RawRoute {
  return defineRawRoute({
    operationId: 'createStreamTicket',
    method: 'POST',
    path: '/v1/events/tickets',
    tag: 'events',
    summary: 'Get a single-use ticket to open the event stream from a browser',
    description:
      `A browser \`EventSource\` cannot send an Authorization header. Ask for a ticket with the bearer token, ` +
      `then open \`GET /v1/events?ticket=<ticket>\`: the stream is the caller's, with the same visibility. ` +
      `A ticket works once and for ${Math.round(ttlMs / 1000)} s; ask for a new one for each (re)connection ` +
      '(an EventSource reconnecting on its own reuses its URL, so its second attempt is refused: reopen it ' +
      'with a fresh ticket and `lastEventId`). No request body.',
    access: [...ALL_KINDS, 'person'],
    responses: {
      201: { description: 'The ticket', contentType: 'application/json', schema: StreamTicketResponse },
    },
    errors: [401, 403],
    async handle(req, res, ctx) {
      req.resume();
      const caller = ctx.caller;
      if (!caller) throw new Error('the stream tickets route requires a caller');
      // A ticket is a credential for its lifetime: no cache keeps it.
      sendJson(res, 201, tickets.issue(caller.authorization), { 'cache-control': 'no-store' });
    },
  });
}
