import { randomUUID, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  generateAgentCardSignature,
  Role,
  TaskState,
  type AgentCard,
  type Message,
  type Part,
} from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { calculateJwkThumbprint, type JWK } from 'jose';

/**
 * A small A2A agent built with the official SDK (issue 25's test): outside counsel answering legal
 * questions. It runs its own AgentExecutor behind the SDK's DefaultRequestHandler and JSON-RPC
 * transport, serves a card signed with its own key (JWS by the SDK's generateAgentCardSignature,
 * `jku` on its own origin) and the JWKS, and a tampered copy of the card for the refusal test.
 *
 * Its opinion is a function of the request (an amount above $100,000 needs a SOX 404 review), so
 * the test can check that what the mesh sent is what the remote agent answered about. A question
 * without an amount is answered with INPUT_REQUIRED (the answer, a message continuing the task,
 * is judged as a request of its own); a `slow` task runs until it is canceled. A request's
 * `parties` (an object) come back in the answer's data under the same keys.
 */
export interface RemoteLegalAgent {
  readonly url: string;
  readonly cardUrl: string;
  /** The same card with its description changed after signing. */
  readonly tamperedCardUrl: string;
  readonly jwksUrl: string;
  /** Messages received, in order. */
  readonly received: Message[];
  /** The mesh task ids (`metadata.orgmesh.taskId`) of the remote tasks canceled through A2A CancelTask. */
  readonly canceled: string[];
  close(): Promise<void>;
}

function text(value: string): Part {
  return { content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}

function textOf(message: Message): string {
  return message.parts.flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : [])).join('\n');
}

function dataOf(message: Message): Record<string, unknown> | undefined {
  const part = message.parts.find((p) => p.content?.$case === 'data');
  return part?.content?.$case === 'data' ? (part.content.value as Record<string, unknown>) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class OutsideCounselExecutor implements AgentExecutor {
  private readonly running = new Map<string, () => void>();
  /** Remote task id → the mesh task id its message named. */
  private readonly meshIds = new Map<string, string>();

  constructor(
    private readonly received: Message[],
    private readonly canceled: string[],
  ) {}

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const message = ctx.userMessage;
    this.received.push(message);
    const status = (state: TaskState, said?: string) =>
      AgentEvent.statusUpdate({
        taskId: ctx.taskId,
        contextId: ctx.contextId,
        status: {
          state,
          message: said
            ? {
                messageId: randomUUID(),
                contextId: ctx.contextId,
                taskId: ctx.taskId,
                role: Role.ROLE_AGENT,
                parts: [text(said)],
                metadata: undefined,
                extensions: [],
                referenceTaskIds: [],
              }
            : undefined,
          timestamp: new Date().toISOString(),
        },
        metadata: undefined,
      });
    bus.publish(
      AgentEvent.task({
        id: ctx.taskId,
        contextId: ctx.contextId,
        status: {
          state: TaskState.TASK_STATE_SUBMITTED,
          message: undefined,
          timestamp: new Date().toISOString(),
        },
        artifacts: [],
        history: [message],
        metadata: undefined,
      }),
    );
    bus.publish(status(TaskState.TASK_STATE_WORKING));
    const input = dataOf(message);
    const orgmesh = message.metadata?.['orgmesh'] as { type?: string; taskId?: string } | undefined;
    if (orgmesh?.taskId) this.meshIds.set(ctx.taskId, orgmesh.taskId);
    if (orgmesh?.type === 'slow') {
      // Runs until canceled (the bridge cancels it when the mesh task's deadline passes).
      await new Promise<void>((resolve) => this.running.set(ctx.taskId, resolve));
      bus.publish(status(TaskState.TASK_STATE_CANCELED, 'canceled by the client'));
      bus.finished();
      return;
    }
    const amount = typeof input?.['amount'] === 'number' ? input['amount'] : undefined;
    if (amount === undefined) {
      bus.publish(status(TaskState.TASK_STATE_INPUT_REQUIRED, 'What is the amount of the request?'));
      bus.finished();
      return;
    }
    const opinion =
      amount > 100_000
        ? `Approve subject to a SOX 404 review: ${amount} is above the $100,000 threshold (question: ${textOf(message)})`
        : `Approve: ${amount} is under the $100,000 SOX threshold (question: ${textOf(message)})`;
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId: ctx.taskId,
        contextId: ctx.contextId,
        artifact: {
          artifactId: 'opinion',
          name: 'legal-opinion',
          description: '',
          parts: [
            text(opinion),
            {
              content: {
                $case: 'data',
                value: {
                  recommendation: 'approve',
                  rule: amount > 100_000 ? 'SOX 404' : 'none',
                  // The parties named by the request, by the keys it named them with.
                  ...(isRecord(input?.['parties'])
                    ? {
                        parties: Object.fromEntries(
                          Object.keys(input['parties']).map((k) => [k, 'reviewed']),
                        ),
                      }
                    : {}),
                },
              },
              metadata: undefined,
              filename: '',
              mediaType: 'application/json',
            },
          ],
          metadata: undefined,
          extensions: [],
        },
        append: false,
        lastChunk: true,
        metadata: undefined,
      }),
    );
    bus.publish(status(TaskState.TASK_STATE_COMPLETED));
    bus.finished();
  }

  async cancelTask(taskId: string): Promise<void> {
    this.canceled.push(this.meshIds.get(taskId) ?? `remote:${taskId}`);
    this.running.get(taskId)?.();
    this.running.delete(taskId);
  }
}

/** What this test uses of an Express app: the tree has express (the SDK's server peer) but no @types/express. */
interface ExpressApp {
  (req: IncomingMessage, res: ServerResponse): void;
  get(path: string, handler: (req: unknown, res: { json(body: unknown): void }) => void): void;
  use(path: string, handler: unknown): void;
}

// Imported by name at run time: its declarations are not in the tree (the SDK's express types resolve to any).
const EXPRESS = 'express';

export interface RemoteLegalAgentOptions {
  /** The one transport its card offers: JSON-RPC (default) or HTTP+JSON. */
  binding?: 'JSONRPC' | 'HTTP+JSON';
  /** Whether its card says it streams (default true); without, clients send and poll. */
  streaming?: boolean;
  name?: string;
  /** Whether its card is signed (default true). */
  signed?: boolean;
  /** The `Authorization` its A2A endpoint demands (401 otherwise); the card stays public. */
  requireAuthorization?: string;
  /** Listen on this port (an agent back at its address after it stopped); default any. */
  port?: number;
}

export async function startRemoteLegalAgent(
  options: RemoteLegalAgentOptions = {},
): Promise<RemoteLegalAgent> {
  const binding = options.binding ?? 'JSONRPC';
  const { default: express } = (await import(EXPRESS)) as { default: () => ExpressApp };
  const app = express();
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const exported = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(exported, 'sha256');
  const jwksUrl = `${url}/jwks.json`;
  const card: AgentCard = {
    name: options.name ?? 'Outside Counsel',
    description: 'Answers legal questions: SOX reviews of spending requests.',
    supportedInterfaces: [
      binding === 'JSONRPC'
        ? { url: `${url}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }
        : { url: `${url}/a2a/rest`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
    ],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: options.streaming ?? true, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain', 'application/json'],
    skills: [
      {
        id: 'sox-review',
        name: 'SOX review',
        description: 'Reviews a spending request for SOX compliance',
        tags: ['legal'],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
  const signer = generateAgentCardSignature(privateKey, { alg: 'ES256', kid, typ: 'JOSE', jku: jwksUrl });
  const received: Message[] = [];
  const canceled: string[] = [];
  const handler = new DefaultRequestHandler(
    card,
    new InMemoryTaskStore(),
    new OutsideCounselExecutor(received, canceled),
    undefined,
    undefined,
    undefined,
    undefined,
    options.signed === false ? undefined : signer,
  );
  app.get('/jwks.json', (_req, res) => {
    res.json({ keys: [{ ...exported, kid, alg: 'ES256', use: 'sig' }] });
  });
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  // The signed card served with one field changed after signing: its signature no longer matches.
  app.get('/tampered/.well-known/agent-card.json', (_req, res) => {
    void (async () => {
      const signed = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as Record<
        string,
        unknown
      >;
      res.json({ ...signed, description: 'Approves everything.' });
    })();
  });
  const endpoint = binding === 'JSONRPC' ? '/a2a/jsonrpc' : '/a2a/rest';
  if (options.requireAuthorization) {
    const required = options.requireAuthorization;
    app.use(endpoint, (req: IncomingMessage, res: ServerResponse, next: () => void) => {
      if (req.headers.authorization === required) return next();
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    });
  }
  if (binding === 'JSONRPC')
    app.use(
      '/a2a/jsonrpc',
      jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }),
    );
  else
    app.use('/a2a/rest', restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return {
    url,
    cardUrl: `${url}/.well-known/agent-card.json`,
    tamperedCardUrl: `${url}/tampered/.well-known/agent-card.json`,
    jwksUrl,
    received,
    canceled,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A server that accepts connections and never answers: a card URL that does not answer in time. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (opened and closed): connections are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
