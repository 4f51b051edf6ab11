import { createHash } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  const chunkChars = Math.max(1, options.chunkChars ?? 12);
  const maxBody = options.maxBodyBytes ?? 20 * 1024 * 1024;
  let requests = 0;
  let recording: Promise<void> = Promise.resolve();

  const server = createServer((req, res) => {
    res.setHeader('x-orgmesh-model', LABEL_HEADER);
    handle(req, res).catch((error: unknown) => {
      options.logger.error(
        { err: error instanceof Error ? error.name : 'unknown' },
        'scripted model request failed',
      );
      if (!res.headersSent)
        sendJson(res, 500, { error: { message: 'internal error', type: 'server_error' } });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      sendJson(res, 200, { status: 'ok', model: SCRIPTED_MODEL_LABEL, requests });
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
      const raw = await readBody(req, maxBody);
      if (raw === undefined) {
        sendJson(res, 413, { error: { message: 'request body too large', type: 'invalid_request_error' } });
        return;
      }
      await record(path, raw);
      let body: {
        messages?: unknown;
        model?: unknown;
        stream?: unknown;
        stream_options?: { include_usage?: unknown };
      };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        sendJson(res, 400, { error: { message: 'the body is not JSON', type: 'invalid_request_error' } });
        return;
      }
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        sendJson(res, 400, {
          error: {
            message: 'messages: expected a non-empty array',
            type: 'invalid_request_error',
            param: 'messages',
          },
        });
        return;
      }
      requests++;
      const messages = body.messages as ScriptMessage[];
      const turn = scriptedTurn(messages);
      const seed = createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 24);
      const model = typeof body.model === 'string' && body.model ? body.model : SCRIPTED_MODEL_ID;
      const usage = {
        prompt_tokens: Math.ceil(raw.length / 4),
        completion_tokens: Math.ceil(JSON.stringify(turn).length / 4),
      };
      const fullUsage = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
      options.logger.info(
        {
          messages: messages.length,
          reply: turn.kind,
          tools: turn.kind === 'tool_calls' ? turn.calls.map((c) => c.name) : [],
          stream: body.stream === true,
        },
        'scripted model answered (deterministic, not an LLM)',
      );
      if (body.stream === true)
        streamTurn(
          res,
          turn,
          seed,
          model,
          chunkChars,
          body.stream_options?.include_usage === true ? fullUsage : undefined,
        );
      else sendJson(res, 200, completion(turn, seed, model, fullUsage));
      return;
    }
    if (req.method === 'POST' && (path === '/v1/messages' || path === '/messages')) {
      await answerAnthropic(req, res, path);
      return;
    }
    sendJson(res, 404, {
      error: { message: `no route ${req.method ?? ''} ${path}`, type: 'invalid_request_error' },
    });
  }

  /** Anthropic Messages: the same script, answered in Anthropic's shapes and error envelope. */
  async function answerAnthropic(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const refuse = (status: number, message: string) =>
      sendJson(res, status, { type: 'error', error: { type: 'invalid_request_error', message } });
    const raw = await readBody(req, maxBody);
    if (raw === undefined) return refuse(413, 'request body too large');
    await record(path, raw);
    let body: { system?: unknown; messages?: unknown; model?: unknown; stream?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return refuse(400, 'the body is not JSON');
    }
    if (typeof body !== 'object' || body === null || !Array.isArray(body.messages) || body.messages.length === 0)
      return refuse(400, 'messages: expected a non-empty array');
    requests++;
    const messages = scriptMessagesFromAnthropic({ system: body.system, messages: body.messages });
    const turn = scriptedTurn(messages);
    const seed = createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 24);
    const model = typeof body.model === 'string' && body.model ? body.model : SCRIPTED_MODEL_ID;
    const usage = {
      input_tokens: Math.ceil(raw.length / 4),
      output_tokens: Math.ceil(JSON.stringify(turn).length / 4),
    };
    options.logger.info(
      {
        messages: messages.length,
        reply: turn.kind,
        tools: turn.kind === 'tool_calls' ? turn.calls.map((c) => c.name) : [],
        stream: body.stream === true,
        api: 'anthropic',
      },
      'scripted model answered (deterministic, not an LLM)',
    );
    if (body.stream === true)
      streamAnthropic(res, turn, seed, model, usage, (text) => pieces(text, chunkChars));
    else sendJson(res, 200, anthropicMessage(turn, seed, model, usage));
  }

  function record(path: string, body: string): Promise<void> {
    const file = options.recordFile;
    if (!file) return Promise.resolve();
    // Serialised, and awaited before answering: whoever reads the file after the answer sees the request.
    recording = recording
      .then(() => appendFile(file, `${JSON.stringify({ at: new Date().toISOString(), path, body })}\n`))
      .catch((error: unknown) => {
        options.logger.error(
          { err: error instanceof Error ? error.name : 'unknown' },
          'could not record a request',
        );
      });
    return recording;
  }

  return {
    server,
    get requests() {
      return requests;
    },
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(
            `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
          );
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
