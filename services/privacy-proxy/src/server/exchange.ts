import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PRIVACY_CONTEXT_HEADER } from '@orgmesh/contracts';
import type { HttpClientSpan, HttpServerSpan } from '@orgmesh/telemetry';
import type { Provider } from './options.js';

export const PRIVACY_PROXY_TRACER = '@orgmesh/privacy-proxy';
export const SESSION_HEADER = 'x-orgmesh-session-id';

export type Route =
  | 'openai.chat.completions'
  | 'anthropic.messages'
  | 'anthropic.count_tokens'
  | 'models'
  | 'privacy.scan'
  | 'privacy.mask'
  | 'health'
  | 'metrics'
  | 'not_found';

/** One request on its way through the proxy. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly requestId: string;
  readonly started: bigint;
  /** Filled as the request proceeds, for the one log line at the end. */
  readonly log: Record<string, unknown>;
  /** The request's SERVER span (none for health and metrics). */
  readonly span: HttpServerSpan | undefined;
  /** The upstream call's CLIENT span, ended with the exchange (streams: after the last byte). */
  upstream?: { readonly span: HttpClientSpan; status?: number };
  /** OpenTelemetry GenAI attributes of a model call, set on both spans when the exchange ends. */
  genai?: Record<string, string | number | boolean | string[]>;
}

/** The `http.route` of each route (the canonical path; aliases share it). */
export const ROUTE_PATHS: Record<Route, string> = {
  'openai.chat.completions': '/v1/chat/completions',
  'anthropic.messages': '/v1/messages',
  'anthropic.count_tokens': '/v1/messages/count_tokens',
  models: '/v1/models',
  'privacy.scan': '/v1/privacy/scan',
  'privacy.mask': '/v1/privacy/mask',
  health: '/healthz',
  metrics: '/metrics',
  not_found: 'unmatched',
};

export function routeOf(req: IncomingMessage): Route {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(/\/+$/, '') || '/';
  switch (path) {
    case '/v1/chat/completions':
    case '/chat/completions':
      return 'openai.chat.completions';
    case '/v1/messages':
      return 'anthropic.messages';
    case '/v1/messages/count_tokens':
      return 'anthropic.count_tokens';
    case '/v1/models':
    case '/models':
      return req.method === 'GET' ? 'models' : 'not_found';
    case '/v1/privacy/scan':
      return 'privacy.scan';
    case '/v1/privacy/mask':
      return 'privacy.mask';
    case '/healthz':
    case '/readyz':
      return 'health';
    case '/metrics':
      return 'metrics';
    default:
      return 'not_found';
  }
}

/** The provider whose shape the route answers in (errors included); none for the proxy's own routes. */
export function providerOf(x: Exchange): Provider | undefined {
  if (x.route === 'openai.chat.completions') return 'openai';
  if (x.route === 'anthropic.messages' || x.route === 'anthropic.count_tokens') return 'anthropic';
  if (x.route === 'models') return x.req.headers['anthropic-version'] ? 'anthropic' : 'openai';
  return undefined;
}

export function queryOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q);
}

/**
 * The caller's `x-request-id` when it is id-shaped; a fresh one otherwise. It is logged on every line,
 * so free text from a client (an address, a sentence) must not become it.
 */
export function requestIdOf(value: string | undefined): string {
  return idShaped(value, 128) ?? randomUUID();
}

/** `value` if it looks like an id (letters, digits, `_.:-`, 1 to `max` characters), else undefined. */
export function idShaped(value: string | undefined, max: number): string | undefined {
  return value !== undefined && value.length <= max && /^[A-Za-z0-9_.:-]+$/.test(value) ? value : undefined;
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * What the request belongs to, for the scope of its placeholders: its workflow, session, conversation.
 * The conversation is the last fallback (pseudonymKeyScope), so its key is hashed only when the
 * request names neither a workflow nor a session.
 */
export function workflowOf(
  req: IncomingMessage,
  conversationOf?: () => string | undefined,
): { contextId?: string; sessionId?: string; conversation?: string } {
  const contextId = headerValue(req, PRIVACY_CONTEXT_HEADER)?.slice(0, 200);
  const sessionId = headerValue(req, SESSION_HEADER)?.slice(0, 200);
  const conversation = contextId || sessionId ? undefined : conversationOf?.();
  return {
    ...(contextId ? { contextId } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(conversation ? { conversation } : {}),
  };
}
