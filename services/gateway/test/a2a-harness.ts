import { randomUUID } from 'node:crypto';
import {
  Role,
  type Message,
  type SendMessageRequest,
  type StreamResponse,
  type Task as A2ATask,
} from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
  type Client,
} from '@a2a-js/sdk/client';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { OidcTokenSource } from '@orgmesh/agent-sdk';
import { startOidcProvider, type OidcTestProvider, type TestContext } from '@orgmesh/testing';
import { testConfig as meshTestConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import { startTestRegistry } from '@orgmesh/registry/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { silentLogger, startTestGateway } from './gateway-harness.js';

/** A fetch that sends the caller's bearer token, as an A2A client configured with credentials does. */
export function bearerFetch(token: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

/**
 * The official SDK client for an endpoint, built from the card it fetches, over the card's JSON-RPC
 * interface or (`binding: 'HTTP+JSON'`) its REST one.
 */
export async function a2aClient(
  gateway: GatewayApp,
  token: string,
  path: string,
  binding: 'JSONRPC' | 'HTTP+JSON' = 'JSONRPC',
): Promise<Client> {
  const fetchImpl = bearerFetch(token);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports:
        binding === 'JSONRPC'
          ? [new JsonRpcTransportFactory({ fetchImpl })]
          : [new RestTransportFactory({ fetchImpl })],
      // The defaults carry both transports without credentials: this binding's, with them, first.
      preferredTransports: [binding],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  );
  // The card lies at <endpoint>/.well-known/agent-card.json: the base URL ends with a slash.
  return factory.createFromUrl(`${gateway.url}${path}/`);
}

export function userMessage(
  text: string,
  options: { contextId?: string; metadata?: Record<string, unknown> } = {},
): Message {
  return {
    messageId: randomUUID(),
    contextId: options.contextId ?? '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [
      { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' },
    ],
    metadata: options.metadata,
    extensions: [],
    referenceTaskIds: [],
  };
}

export function sendRequest(message: Message, returnImmediately = true): SendMessageRequest {
  return {
    tenant: '',
    message,
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately,
    },
    metadata: undefined,
  };
}

export function asTask(result: Message | A2ATask): A2ATask {
  if (!('status' in result)) throw new Error('expected a task, got a message');
  return result;
}

export async function rpc(
  gateway: GatewayApp,
  path: string,
  token: string,
  body: string,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON-RPC answers of any shape, checked by the tests
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Card-signature keys, looked up as the spec says: the `kid` in the JWKS the `jku` names. */
export async function keyFromJku(kid: string, jku?: string): Promise<JWK> {
  if (!jku) throw new Error('the signature names no jku');
  const jwks = (await (await fetch(jku)).json()) as { keys: JWK[] };
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error(`no key ${kid} at ${jku}`);
  return jwk;
}

/** The mesh task version a stream event carries (task snapshot or status update), for gap checks. */
export function versionOf(event: StreamResponse): number | undefined {
  const payload = event.payload;
  if (payload?.$case === 'task' || payload?.$case === 'statusUpdate') {
    const meta = payload.value.metadata?.['orgmesh'] as { version?: number } | undefined;
    return meta?.version;
  }
  return undefined;
}

/** The stack of the gateway's integration tests (gateway, registry, mesh router), with gateway overrides. */
export async function startA2AStack(
  ctx: TestContext,
  overrides: Record<string, string> = {},
): Promise<{ gateway: GatewayApp; close(): Promise<void> }> {
  const gateway = await startTestGateway(ctx, overrides);
  const registry = await startTestRegistry(ctx, {
    overrides: { REGISTRY_AUTH: 'on', AUTH_ISSUER: gateway.url, GATEWAY_URL: gateway.url },
  });
  const mesh = await startMeshRouterApp(meshTestConfig(ctx, { AUTH_ISSUER: gateway.url }), {
    logger: silentLogger,
    migrate: true,
    startJobs: false,
  });
  return {
    gateway,
    async close() {
      await gateway.close();
      await mesh.close();
      await registry.close();
    },
  };
}

export interface ReceivedPush {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * A push-notification receiver on loopback: records each POST, answering 500 to the first
 * `failFirst` and to every one while `failing` is set.
 */
export async function startPushReceiver(options: { failFirst?: number } = {}): Promise<{
  url: string;
  received: ReceivedPush[];
  attempts: () => number;
  failing: { value: boolean };
  close(): Promise<void>;
}> {
  const received: ReceivedPush[] = [];
  const failing = { value: false };
  let attempts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts++;
      if (failing.value || attempts <= (options.failFirst ?? 0)) {
        res.writeHead(500).end();
        return;
      }
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/a2a`,
    received,
    attempts: () => attempts,
    failing,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The agents the replica tests act as, each an OIDC client of the external issuer. */
const REPLICA_CLIENTS = [
  { id: 'manager-agent', role: 'manager' },
  { id: 'legal-agent', role: 'legal' },
] as const;

/**
 * The external issuer that gateway replicas share in the replica tests (oidc mode, as in production:
 * dev-mode keys are per process): an `oidc-provider` with the manager and legal agents as clients,
 * the `AUTH_*` keys that trust it, and each agent's client-credentials token from it.
 */
export async function startReplicaIssuer(): Promise<{
  provider: OidcTestProvider;
  trust: { AUTH_ISSUER: string; AUTH_AUDIENCE: string; AUTH_JWKS_URL: string };
  tokens(): Promise<Record<string, string>>;
}> {
  const audience = 'urn:orgmesh:api';
  const secret = `secret-${randomUUID()}`;
  const provider = await startOidcProvider({
    audience,
    clients: REPLICA_CLIENTS.map(({ id, role }) => ({
      clientId: id,
      clientSecret: secret,
      tokenEndpointAuthMethod: 'client_secret_basic' as const,
      scope: 'orgmesh:agent',
      claims: { role },
    })),
  });
  return {
    provider,
    trust: { AUTH_ISSUER: provider.issuer, AUTH_AUDIENCE: audience, AUTH_JWKS_URL: provider.jwksUrl },
    async tokens() {
      const tokens: Record<string, string> = {};
      for (const { id } of REPLICA_CLIENTS) {
        const source = new OidcTokenSource({
          issuer: provider.issuer,
          clientId: id,
          auth: { method: 'client_secret_basic', secret },
          scope: 'orgmesh:agent',
        });
        tokens[id] = (await source.current()).token;
      }
      return tokens;
    },
  };
}
