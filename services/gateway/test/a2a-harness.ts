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
import type { JWK } from 'jose';
import type { GatewayApp } from '../src/gateway.app.js';

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
