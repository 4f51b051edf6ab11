import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentCard } from '@a2a-js/sdk';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { AppError } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';
import type { Caller } from '../auth/caller.js';
import type { EventHub } from '../events/event-hub.js';
import {
  ALL_KINDS,
  definePublicDocumentRoute,
  defineRawRoute,
  type RawRoute,
  type RawRouteContext,
} from '../routes/route.js';
import { AgentCards } from './agent-cards.js';
import { CardSigner } from './card-signing.js';
import {
  MeshA2AHandler,
  type A2ATarget,
  type MeshA2AOptions as MeshA2AHandlerOptions,
} from './a2a-handler.js';
import { PushConfigStore, PushDispatcher, pushMetrics } from './push.js';
import { PushAllowList } from './push-url.js';
import { serveJsonRpc } from './a2a-jsonrpc.js';
import { guardedHandler } from './guarded-handler.js';
import { A2ARestTransport, REST_SUFFIXES } from './a2a-rest.js';

/** Where the card-signing keys are published (the `jku` of every card signature). */
export const A2A_JWKS_PATH = '/a2a/jwks.json';
export const ORG_CARD_PATH = '/.well-known/agent-card.json';
const ORG: A2ATarget = { kind: 'org' };
/** The public card is the same for every reader (the extended card is a JSON-RPC/REST method). */
const CARD_MAX_AGE_SEC = 60;

export interface A2AOptions {
  bus: MessageBus;
  hub: EventHub;
  logger: Logger;
  /** The gateway's public base URL, without a trailing slash. */
  baseUrl: string;
  tokenUrl: string | undefined;
  version: string;
  rpcTimeoutMs: number;
  blockingTimeoutMs: number;
  heartbeatMs: number;
  /** GATEWAY_A2A_SIGNING_KEY; unset: a key drawn at startup. */
  signingKey: string | undefined;
  /** Push-notification configs and their delivery (GATEWAY_A2A_PUSH). */
  push: boolean;
  /** GATEWAY_A2A_PUSH_ALLOW: callback hosts, addresses and ranges allowed although not public. */
  pushAllow: string | undefined;
  metricsRegistry: Registry;
}

export interface A2AMount {
  routes: RawRoute[];
  signer: CardSigner;
  /** Whether push-notification configs are offered (the delivery consumer started). */
  push: boolean;
  /** Stops the push delivery consumer (deliveries in flight finish). */
  close(): Promise<void>;
}

function callerOf(ctx: RawRouteContext): Caller {
  if (!ctx.caller) throw new Error('an A2A route requires a caller');
  return ctx.caller;
}

/** The `<agent-id>` segment of `/a2a/<agent-id>...`. */
function agentIdOf(url: URL): string {
  const segment = url.pathname.split('/')[2] ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function unknownAgent(agentId: string): AppError {
  return new AppError(
    'not_found',
    `no registry agent ${JSON.stringify(agentId.slice(0, 200))} serves A2A here`,
    {
      details: { issues: [{ path: 'path.agentId', message: 'not a registry agent' }] },
    },
  );
}

/**
 * The A2A server over the mesh (issue 25, ADR 0018): Agent Cards, JSON-RPC endpoints per agent and
 * for the org, and the card-signing JWKS. Raw routes of the gateway's table, so tokens, rate limits,
 * body limits and problem+json refusals are the REST edge's own; not in the OpenAPI document (the
 * Agent Card describes this surface).
 */
export async function createA2A(options: A2AOptions): Promise<A2AMount> {
  const signer = await CardSigner.create(options.signingKey, `${options.baseUrl}${A2A_JWKS_PATH}`);
  const { push, dispatcher } = await startPush(options);
  const cards = new AgentCards({
    bus: options.bus,
    signer,
    baseUrl: options.baseUrl,
    rpcTimeoutMs: options.rpcTimeoutMs,
    tokenUrl: options.tokenUrl,
    version: options.version,
    pushNotifications: push !== undefined,
  });
  const handler = guardedHandler(meshHandler(options, cards, push), options.logger);
  const rest = new A2ARestTransport(handler);
  const routes: RawRoute[] = [
    ...cardRoutes(cards),
    ...jsonRpcRoutes(cards, handler, options.heartbeatMs),
    jwksRoute(signer),
    ...REST_SUFFIXES.flatMap(({ method, suffix }) => [
      restRoute(cards, rest, false, method, suffix),
      restRoute(cards, rest, true, method, suffix),
    ]),
  ];
  return {
    routes,
    signer,
    push: push !== undefined,
    close: async () => {
      await dispatcher?.stop();
    },
  };
}

type PushPort = NonNullable<MeshA2AHandlerOptions['push']>;

/**
 * Push delivery needs a durable consumer on the MESH stream and a stream of its own: where the
 * bus refuses either (a locked-down NATS account), the gateway runs without push, and says so.
 */
async function startPush(
  options: A2AOptions,
): Promise<{ push: PushPort | undefined; dispatcher: PushDispatcher | undefined }> {
  if (!options.push) return { push: undefined, dispatcher: undefined };
  const store = new PushConfigStore(options.bus);
  const allow = new PushAllowList(options.pushAllow);
  const candidate = new PushDispatcher(
    options.bus,
    store,
    allow,
    options.logger,
    pushMetrics(options.metricsRegistry),
  );
  try {
    await candidate.start();
    return {
      push: { store, allow, catchUp: (stored, task) => candidate.catchUp(stored, task) },
      dispatcher: candidate,
    };
  } catch (error) {
    options.logger.warn(
      { err: error },
      'a2a push notifications unavailable: the delivery consumer did not start',
    );
    return { push: undefined, dispatcher: undefined };
  }
}

/** The A2A request handler over the mesh; its extended cards are the caller's view of the org's or an agent's card. */
function meshHandler(options: A2AOptions, cards: AgentCards, push: PushPort | undefined): MeshA2AHandler {
  return new MeshA2AHandler(
    {
      bus: options.bus,
      hub: options.hub,
      rpcTimeoutMs: options.rpcTimeoutMs,
      blockingTimeoutMs: options.blockingTimeoutMs,
      push,
      extendedCard: async (target, caller) => {
        if (target.kind === 'org') return AgentCard.fromJSON(await cards.orgCard(caller));
        const card = await cards.agentCard(target.agentId, caller);
        if (!card) throw unknownAgent(target.agentId);
        return AgentCard.fromJSON(card);
      },
    },
    cards.versionCard(),
  );
}

/** The agent a request names (404 for an agent the registry does not have). */
async function agentTarget(cards: AgentCards, url: URL, caller: Caller): Promise<A2ATarget> {
  const agentId = agentIdOf(url);
  if (!(await cards.exists(agentId, caller))) throw unknownAgent(agentId);
  return { kind: 'agent', agentId };
}

/**
 * The public Agent Cards: the org's and each registry agent's. Public, as A2A discovery has it: a
 * client reads the card (its security scheme) before it authenticates. Rate-limited per client
 * address as every public route; the full card is GetExtendedAgentCard, with a token.
 */
function cardRoutes(cards: AgentCards): RawRoute[] {
  const signedCard = { description: 'A signed Agent Card' };
  return [
    definePublicDocumentRoute({
      operationId: 'a2aOrgAgentCard',
      path: ORG_CARD_PATH,
      tag: 'a2a',
      summary: "The org's public A2A Agent Card: one skill per role",
      response: signedCard,
      maxAgeSec: CARD_MAX_AGE_SEC,
      document: () => cards.publicOrgCard(),
    }),
    definePublicDocumentRoute({
      operationId: 'a2aAgentCard',
      path: '/a2a/{agentId}/.well-known/agent-card.json',
      tag: 'a2a',
      summary: "A registry agent's public A2A Agent Card",
      response: signedCard,
      errors: [404],
      maxAgeSec: CARD_MAX_AGE_SEC,
      async document(ctx) {
        const agentId = agentIdOf(ctx.url);
        const card = await cards.publicAgentCard(agentId);
        if (!card) throw unknownAgent(agentId);
        return card;
      },
    }),
  ];
}

/** The JSON-RPC binding: one endpoint for the org (a message goes to a role), one per registry agent. */
function jsonRpcRoutes(cards: AgentCards, handler: A2ARequestHandler, heartbeatMs: number): RawRoute[] {
  const jsonRpc = async (org: boolean, req: IncomingMessage, res: ServerResponse, ctx: RawRouteContext) => {
    const caller = callerOf(ctx);
    const target = org ? ORG : await agentTarget(cards, ctx.url, caller);
    const body = await ctx.readBody();
    await serveJsonRpc({ req, res, caller, signal: ctx.signal, body, handler, target, heartbeatMs });
  };
  return [
    defineRawRoute({
      operationId: 'a2aOrgJsonRpc',
      method: 'POST',
      path: '/a2a',
      tag: 'a2a',
      summary: 'A2A JSON-RPC for the org: a message goes to the role in metadata.role',
      access: ALL_KINDS,
      responses: { 200: { description: 'A JSON-RPC response, or server-sent events for streaming methods' } },
      async handle(req, res, ctx) {
        await jsonRpc(true, req, res, ctx);
      },
    }),
    defineRawRoute({
      operationId: 'a2aAgentJsonRpc',
      method: 'POST',
      path: '/a2a/{agentId}',
      tag: 'a2a',
      summary: 'A2A JSON-RPC for one registry agent: a message becomes a mesh task to that agent',
      access: ALL_KINDS,
      responses: { 200: { description: 'A JSON-RPC response, or server-sent events for streaming methods' } },
      errors: [404],
      async handle(req, res, ctx) {
        await jsonRpc(false, req, res, ctx);
      },
    }),
  ];
}

/** The keys card signatures verify against (the `jku` of every signature). */
function jwksRoute(signer: CardSigner): RawRoute {
  return definePublicDocumentRoute({
    operationId: 'a2aCardKeys',
    path: A2A_JWKS_PATH,
    tag: 'a2a',
    summary: 'The public keys Agent Card signatures verify against (JWKS)',
    response: { description: 'A JWK Set' },
    maxAgeSec: 300,
    document: async () => signer.jwks(),
  });
}

/** One method of the HTTP+JSON (REST) binding, for the org or for one registry agent. */
function restRoute(
  cards: AgentCards,
  rest: A2ARestTransport,
  org: boolean,
  method: 'GET' | 'POST',
  suffix: string,
): RawRoute {
  const prefix = org ? '/a2a/rest' : '/a2a/{agentId}/rest';
  return defineRawRoute({
    operationId: `a2aRest ${method} ${prefix}${suffix}`,
    method,
    path: `${prefix}${suffix}`,
    tag: 'a2a',
    summary: 'A2A HTTP+JSON (REST) binding',
    access: ALL_KINDS,
    responses: { 200: { description: 'The binding’s JSON, or server-sent events for streaming methods' } },
    async handle(req, res, ctx) {
      const caller = callerOf(ctx);
      const target = org ? ORG : await agentTarget(cards, ctx.url, caller);
      // The SDK's router sees the path below the endpoint's /rest, as the request wrote it.
      const written = (req.url ?? '')
        .split('/')
        .slice(0, org ? 3 : 4)
        .join('/');
      // A POST's body is read here, within the gateway's body limit (413 as for every route).
      const body = method === 'POST' ? await ctx.readBody() : undefined;
      await rest.serve(req, res, written, { caller, signal: ctx.signal, target }, body);
    },
  });
}
