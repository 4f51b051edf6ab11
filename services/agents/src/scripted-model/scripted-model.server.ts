import { createHash } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  isBodyTooLarge,
  listenHttp,
  readBody,
  sendJson,
  type HttpEdge,
} from '@orgmesh/service-host/http-edge';
import type { Logger } from '@orgmesh/telemetry';
import { anthropicMessage, scriptMessagesFromAnthropic, streamAnthropic } from './anthropic-shape.js';
import { scriptedTurn, type ScriptMessage, type ScriptedTurn } from './scenario.script.js';

/** How the scripted model names itself wherever a client can see it. */
export const SCRIPTED_MODEL_LABEL = 'scripted model — deterministic, not an LLM';
export const SCRIPTED_MODEL_ID = 'orgmesh-scripted';
/** The label as an HTTP header value (ASCII only). */
const LABEL_HEADER = 'scripted model - deterministic, not an LLM';

export interface ScriptedModelOptions {
  logger: Logger;
  /** JSON lines of every request body received (what a provider would have seen). */
  recordFile?: string;
  /** Characters per SSE delta. */
  chunkChars?: number;
  maxBodyBytes?: number;
}

/** One model call, read and played, before either face writes its answer. */
interface ScriptedCall {
  readonly body: Record<string, unknown>;
  readonly turn: ScriptedTurn;
  readonly stream: boolean;
  readonly seed: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface ScriptedModelServer {
  readonly server: Server;
  /** Chat-completion requests answered so far. */
  readonly requests: number;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * An OpenAI-compatible endpoint (`GET /v1/models`, `POST /v1/chat/completions` as JSON or SSE) and
 * an Anthropic-compatible one (`POST /v1/messages`, JSON or SSE), whose answers come from the scenario script, so the demo and the tests run without a provider.
 * The answer depends only on the request's messages: ids and timestamps are derived from them.
 */
export function createScriptedModelServer(options: ScriptedModelOptions): ScriptedModelServer {
  const model = new ScriptedModel(options);
  let edge: HttpEdge | undefined;
  const server = createServer((req, res) => {
    res.setHeader('x-orgmesh-model', LABEL_HEADER);
    model.handle(req, res).catch((error: unknown) => {
      options.logger.error(
        { err: error instanceof Error ? error.name : 'unknown' },
        'scripted model request failed',
      );
      if (!res.headersSent)
        sendJson(res, 500, { error: { message: 'internal error', type: 'server_error' } });
      else res.end();
    });
  });
  return {
    server,
    get requests() {
      return model.requests;
    },
    async listen(port, host = '127.0.0.1') {
      edge = await listenHttp(server, { port, host });
      return edge.origin;
    },
    close() {
      return edge?.close() ?? Promise.resolve();
    },
  };
}

/**
 * The scripted model behind the HTTP server: its routes (health, models, the OpenAI and Anthropic
 * faces) on one side, and on the other what both faces share — reading a call, matching it to the
 * scenario script, recording it — so each face only writes the played turn in its own shape.
 */
class ScriptedModel {
  /** Chat-completion requests answered so far. */
  requests = 0;
  private recording: Promise<void> = Promise.resolve();
  private readonly chunkChars: number;
  private readonly maxBody: number;

  constructor(private readonly options: ScriptedModelOptions) {
    this.chunkChars = Math.max(1, options.chunkChars ?? 12);
    this.maxBody = options.maxBodyBytes ?? 20 * 1024 * 1024;
  }

  /** The routes, trailing slashes ignored, each with and without the `/v1` prefix as providers' SDKs vary. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      sendJson(res, 200, { status: 'ok', model: SCRIPTED_MODEL_LABEL, requests: this.requests });
      return;
    }
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      sendJson(res, 200, {
        object: 'list',
        data: [
          {
            id: SCRIPTED_MODEL_ID,
            object: 'model',
            created: 0,
            owned_by: 'orgmesh',
            description: SCRIPTED_MODEL_LABEL,
          },
        ],
      });
      return;
    }
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) {
      await this.answerOpenAI(req, res, path);
      return;
    }
    if (req.method === 'POST' && (path === '/v1/messages' || path === '/messages')) {
      await this.answerAnthropic(req, res, path);
      return;
    }
    sendJson(res, 404, {
      error: { message: `no route ${req.method ?? ''} ${path}`, type: 'invalid_request_error' },
    });
  }

  /** OpenAI chat completions: the played turn as a completion, or as chunks with usage when asked for. */
  private async answerOpenAI(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const call = await this.readScriptedCall(req, path, 'openai', (status, message, param) =>
      sendJson(res, status, {
        error: { message, type: 'invalid_request_error', ...(param ? { param } : {}) },
      }),
    );
    if (!call) return;
    const usage = {
      prompt_tokens: call.inputTokens,
      completion_tokens: call.outputTokens,
      total_tokens: call.inputTokens + call.outputTokens,
    };
    const streamOptions = call.body['stream_options'] as { include_usage?: unknown } | undefined;
    if (call.stream)
      streamTurn(
        res,
        call.turn,
        call.seed,
        call.model,
        this.chunkChars,
        streamOptions?.include_usage === true ? usage : undefined,
      );
    else sendJson(res, 200, completion(call.turn, call.seed, call.model, usage));
  }

  /** Anthropic Messages: the same script, answered in Anthropic's shapes and error envelope. */
  private async answerAnthropic(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const call = await this.readScriptedCall(req, path, 'anthropic', (status, message) =>
      sendJson(res, status, { type: 'error', error: { type: 'invalid_request_error', message } }),
    );
    if (!call) return;
    const usage = { input_tokens: call.inputTokens, output_tokens: call.outputTokens };
    if (call.stream)
      streamAnthropic(res, call.turn, call.seed, call.model, usage, (text) => pieces(text, this.chunkChars));
    else sendJson(res, 200, anthropicMessage(call.turn, call.seed, call.model, usage));
  }

  /**
   * What both faces do before they answer: read and record the body, refuse what a provider would
   * (with `refuse`, in the face's own error shape), read the conversation in the script's terms,
   * play the script and log the turn. Undefined when the request was refused.
   */
  private async readScriptedCall(
    req: IncomingMessage,
    path: string,
    api: 'openai' | 'anthropic',
    refuse: (status: number, message: string, param?: string) => void,
  ): Promise<ScriptedCall | undefined> {
    let raw: string;
    try {
      raw = (await readBody(req, this.maxBody)).toString('utf8');
    } catch (error) {
      // Refused in the face's own error shape (a provider SDK parses it), not problem+json.
      if (isBodyTooLarge(error)) return void refuse(413, 'request body too large');
      throw error;
    }
    await this.record(path, raw);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return void refuse(400, 'the body is not JSON');
    }
    const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const sent = fields['messages'];
    if (!Array.isArray(sent) || sent.length === 0)
      return void refuse(400, 'messages: expected a non-empty array', 'messages');
    this.requests++;
    const messages =
      api === 'openai'
        ? (sent as ScriptMessage[])
        : scriptMessagesFromAnthropic({ system: fields['system'], messages: sent });
    const turn = scriptedTurn(messages);
    const stream = fields['stream'] === true;
    this.options.logger.info(
      {
        messages: messages.length,
        reply: turn.kind,
        tools: turn.kind === 'tool_calls' ? turn.calls.map((c) => c.name) : [],
        stream,
        api,
      },
      'scripted model answered (deterministic, not an LLM)',
    );
    return {
      body: fields,
      turn,
      stream,
      // Ids derive from the conversation, so the same request gets the same answer.
      seed: createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 24),
      model: typeof fields['model'] === 'string' && fields['model'] ? fields['model'] : SCRIPTED_MODEL_ID,
      inputTokens: Math.ceil(raw.length / 4),
      outputTokens: Math.ceil(JSON.stringify(turn).length / 4),
    };
  }

  /** Appends the request to `recordFile`, when set. */
  private record(path: string, body: string): Promise<void> {
    const file = this.options.recordFile;
    if (!file) return Promise.resolve();
    // Serialised, and awaited before answering: whoever reads the file after the answer sees the request.
    this.recording = this.recording
      .then(() => appendFile(file, `${JSON.stringify({ at: new Date().toISOString(), path, body })}\n`))
      .catch((error: unknown) => {
        this.options.logger.error(
          { err: error instanceof Error ? error.name : 'unknown' },
          'could not record a request',
        );
      });
    return this.recording;
  }
}

function toolCallsOf(
  turn: ScriptedTurn,
  seed: string,
): Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> {
  if (turn.kind !== 'tool_calls') return [];
  return turn.calls.map((c, i) => ({
    id: `call_${seed.slice(0, 12)}_${i}`,
    type: 'function',
    function: { name: c.name, arguments: JSON.stringify(c.arguments) },
  }));
}

function completion(
  turn: ScriptedTurn,
  seed: string,
  model: string,
  usage: Record<string, number>,
): Record<string, unknown> {
  const calls = toolCallsOf(turn, seed);
  return {
    id: `chatcmpl-scripted-${seed}`,
    object: 'chat.completion',
    created: 0,
    model,
    system_fingerprint: SCRIPTED_MODEL_ID,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: turn.kind === 'text' ? turn.text : null,
          ...(calls.length ? { tool_calls: calls } : {}),
        },
        finish_reason: calls.length ? 'tool_calls' : 'stop',
      },
    ],
    usage,
  };
}

/** The same answer as SSE `chat.completion.chunk`s: the text, or each call's name then its arguments in small deltas. */
function streamTurn(
  res: ServerResponse,
  turn: ScriptedTurn,
  seed: string,
  model: string,
  chunkChars: number,
  usage?: Record<string, number>,
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const base = {
    id: `chatcmpl-scripted-${seed}`,
    object: 'chat.completion.chunk',
    created: 0,
    model,
    system_fingerprint: SCRIPTED_MODEL_ID,
  };
  const send = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, finish_reason: null, ...choice }], ...extra })}\n\n`,
    );
  send({ delta: { role: 'assistant', content: turn.kind === 'text' ? '' : null } });
  if (turn.kind === 'text') {
    for (const piece of pieces(turn.text, chunkChars)) send({ delta: { content: piece } });
  } else {
    toolCallsOf(turn, seed).forEach((toolCall, index) => {
      send({
        delta: {
          tool_calls: [
            {
              index,
              id: toolCall.id,
              type: 'function',
              function: { name: toolCall.function.name, arguments: '' },
            },
          ],
        },
      });
      for (const piece of pieces(toolCall.function.arguments, chunkChars))
        send({ delta: { tool_calls: [{ index, function: { arguments: piece } }] } });
    });
  }
  send({ delta: {}, finish_reason: turn.kind === 'text' ? 'stop' : 'tool_calls' });
  if (usage) res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  res.end('data: [DONE]\n\n');
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  // By code point, so a delta never splits a surrogate pair.
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}
