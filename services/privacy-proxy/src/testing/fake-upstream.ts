import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake provider received, exactly as it arrived. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The query string as it arrived (`?…`), or empty. */
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw body text: what a provider would see, every field included. */
  readonly body: string;
  readonly json: Record<string, unknown> | undefined;
}

export interface ScriptedToolCall {
  readonly name: string;
  /** The arguments as a JSON text (the model writes it token by token). */
  readonly arguments: string;
}

/** What the fake model answers. */
export interface ScriptedAnswer {
  readonly text: string;
  readonly toolCalls?: readonly ScriptedToolCall[];
}

export interface FakeUpstreamOptions {
  /** The answer to a request; default {@link echoPlaceholders}. */
  readonly answer?: (request: RecordedRequest) => ScriptedAnswer;
  /** How streamed text and tool arguments are cut into deltas; default: pieces of 1–5 characters. */
  readonly split?: (text: string) => string[];
  /** Delay before the first streamed event, to measure time to first token. */
  readonly firstTokenDelayMs?: number;
  /** Answer with this error instead (the body may echo placeholders, as provider errors sometimes do). */
  readonly error?: { readonly status: number; readonly body: (request: RecordedRequest) => unknown };
  /** Break the connection after this many streamed text deltas. */
  readonly breakAfterDeltas?: number;
  /**
   * The usage the answers report (default 10 input, 20 output tokens); `false`: none at all, as some
   * OpenAI-compatible servers answer. OpenAI streams carry it only when the request asked
   * (`stream_options.include_usage`), in a last chunk with empty `choices`, as OpenAI does.
   */
  readonly usage?: { readonly input: number; readonly output: number } | false;
}

const PLACEHOLDER = /\[\[[A-Z]+_[0-9a-f]{8,16}\]\]/g;

/** Every distinct placeholder in the request, in order of appearance. */
export function placeholdersIn(body: string): string[] {
  return [...new Set(body.match(PLACEHOLDER) ?? [])];
}

/**
 * The default script: a model that repeats every placeholder it was given, in its text and, when the
 * request offers tools, in one tool call's arguments — the hardest case for restoring.
 */
export function echoPlaceholders(request: RecordedRequest): ScriptedAnswer {
  const found = placeholdersIn(request.body);
  const text = found.length ? `I will contact ${found.join(' and ')} today.` : 'Nothing personal here.';
  const tools = request.json?.['tools'];
  if (!Array.isArray(tools) || tools.length === 0) return { text };
  // Requests may be any shape (the fuzz sends random ones): read the first tool's name defensively.
  const first = (tools[0] ?? {}) as { name?: unknown; function?: { name?: unknown } | null };
  const named = first.function?.name ?? first.name;
  const name = typeof named === 'string' ? named : 'tool';
  return {
    text,
    toolCalls: [
      { name, arguments: JSON.stringify({ recipients: found, note: `cc ${found[0] ?? 'nobody'}` }) },
    ],
  };
}

/** Deterministic pseudo-random cut into pieces of 1..max characters. */
export function pieces(text: string, max = 5, seed = 7): string[] {
  const out: string[] = [];
  let state = seed;
  for (let i = 0; i < text.length;) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const size = 1 + (state % max);
    out.push(text.slice(i, i + size));
    i += size;
  }
  return out;
}

/**
 * A recording stand-in for OpenAI (`<url>/v1/chat/completions`, `/v1/models`) and Anthropic
 * (`<url>/v1/messages`, `/v1/messages/count_tokens`), JSON and SSE, with scripted answers.
 */
export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  private options: FakeUpstreamOptions;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    options: FakeUpstreamOptions,
    self: { current?: FakeUpstream },
  ) {
    this.options = options;
    self.current = this;
  }

  static async start(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
    const self: { current?: FakeUpstream } = {};
    const server = createServer({ keepAlive: true }, (req, res) => {
      // A bug in the stand-in must not look like a proxy hang: drop the connection (the proxy's 503).
      self.current!.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new FakeUpstream(server, `http://127.0.0.1:${port}`, options, self);
  }

  /** Base URL in the OpenAI convention (`…/v1`). */
  get openaiUrl(): string {
    return `${this.url}/v1`;
  }

  /** Base URL in the Anthropic convention (host only). */
  get anthropicUrl(): string {
    return this.url;
  }

  /** Changes the script for the following requests. */
  script(options: FakeUpstreamOptions): void {
    this.options = options;
  }

  get last(): RecordedRequest {
    const last = this.requests[this.requests.length - 1];
    if (!last) throw new Error('the fake upstream received no request');
    return last;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: Record<string, unknown> | undefined;
    try {
      json = body ? (JSON.parse(body) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query,
      headers: req.headers,
      body,
      json,
    };
    this.requests.push(request);
    if (path === '/v1/models') {
      send(res, 200, {
        object: 'list',
        data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }],
      });
      return;
    }
    if (path === '/v1/messages/count_tokens') {
      send(res, 200, { input_tokens: Math.ceil(body.length / 4) });
      return;
    }
    if (this.options.error) {
      send(res, this.options.error.status, this.options.error.body(request));
      return;
    }
    const answer = (this.options.answer ?? echoPlaceholders)(request);
    const split = this.options.split ?? ((t: string) => pieces(t));
    const stream = json?.['stream'] === true;
    const usage = this.options.usage === undefined ? { input: 10, output: 20 } : this.options.usage;
    if (path === '/v1/chat/completions') {
      const options = json?.['stream_options'] as { include_usage?: unknown } | undefined;
      const streamUsage = usage && options?.include_usage === true ? usage : false;
      if (stream) await this.openaiStream(res, { answer, split, model: modelOf(json), usage: streamUsage });
      else send(res, 200, openaiCompletion(answer, modelOf(json), usage));
      return;
    }
    if (path === '/v1/messages') {
      if (stream) await this.anthropicStream(res, { answer, split, model: modelOf(json), usage });
      else send(res, 200, anthropicMessage(answer, modelOf(json), usage));
      return;
    }
    send(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
  }

  /** The event stream's head, then the scripted wait for the first token. */
  private async startStream(res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    await delay(this.options.firstTokenDelayMs);
  }

  private async openaiStream(
    res: ServerResponse,
    { answer, split, model, usage }: StreamedReply,
  ): Promise<void> {
    await this.startStream(res);
    const base = {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model,
    };
    const event = (delta: unknown, finish: string | null = null) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    res.write(event({ role: 'assistant', content: '' }));
    let sent = 0;
    for (const piece of split(answer.text)) {
      if (sent++ === this.options.breakAfterDeltas) {
        await new Promise<void>((resolve) => res.write('', () => resolve()));
        res.socket?.destroy();
        return;
      }
      res.write(event({ content: piece }));
    }
    (answer.toolCalls ?? []).forEach((call, index) => {
      res.write(
        event({
          tool_calls: [
            { index, id: `call_${index}`, type: 'function', function: { name: call.name, arguments: '' } },
          ],
        }),
      );
      for (const piece of split(call.arguments))
        res.write(event({ tool_calls: [{ index, function: { arguments: piece } }] }));
    });
    res.write(event({}, answer.toolCalls?.length ? 'tool_calls' : 'stop'));
    if (usage)
      res.write(
        `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output } })}\n\n`,
      );
    res.end('data: [DONE]\n\n');
  }

  private async anthropicStream(
    res: ServerResponse,
    { answer, split, model, usage }: StreamedReply,
  ): Promise<void> {
    await this.startStream(res);
    const event = (type: string, data: unknown) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...(data as object) })}\n\n`;
    res.write(
      event('message_start', {
        message: {
          id: `msg_${randomUUID()}`,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          ...(usage ? { usage: { input_tokens: usage.input, output_tokens: 1 } } : {}),
        },
      }),
    );
    res.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    res.write(': keep-alive\n\n');
    for (const piece of split(answer.text))
      res.write(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }));
    res.write(event('content_block_stop', { index: 0 }));
    (answer.toolCalls ?? []).forEach((call, i) => {
      const index = i + 1;
      res.write(
        event('content_block_start', {
          index,
          content_block: { type: 'tool_use', id: `toolu_${i}`, name: call.name, input: {} },
        }),
      );
      for (const piece of split(call.arguments)) {
        res.write(
          event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }),
        );
      }
      res.write(event('content_block_stop', { index }));
    });
    res.write(
      event('message_delta', {
        delta: { stop_reason: answer.toolCalls?.length ? 'tool_use' : 'end_turn', stop_sequence: null },
        ...(usage ? { usage: { output_tokens: usage.output } } : {}),
      }),
    );
    res.end(event('message_stop', {}));
  }
}

type ScriptedUsage = { readonly input: number; readonly output: number } | false;

/** What a streamed answer is written from: the scripted answer, split into deltas, and its usage (false: none sent). */
interface StreamedReply {
  readonly answer: ScriptedAnswer;
  readonly split: (text: string) => string[];
  readonly model: string;
  readonly usage: ScriptedUsage;
}

function openaiCompletion(answer: ScriptedAnswer, model: string, usage: ScriptedUsage): unknown {
  const toolCalls = (answer.toolCalls ?? []).map((call, i) => ({
    id: `call_${i}`,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: answer.text,
          refusal: null,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
      },
    ],
    ...(usage
      ? {
          usage: {
            prompt_tokens: usage.input,
            completion_tokens: usage.output,
            total_tokens: usage.input + usage.output,
          },
        }
      : {}),
  };
}

function anthropicMessage(answer: ScriptedAnswer, model: string, usage: ScriptedUsage): unknown {
  return {
    id: `msg_${randomUUID()}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [
      { type: 'text', text: answer.text },
      ...(answer.toolCalls ?? []).map((call, i) => ({
        type: 'tool_use',
        id: `toolu_${i}`,
        name: call.name,
        input: JSON.parse(call.arguments) as unknown,
      })),
    ],
    stop_reason: answer.toolCalls?.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    ...(usage ? { usage: { input_tokens: usage.input, output_tokens: usage.output } } : {}),
  };
}

function modelOf(json: Record<string, unknown> | undefined): string {
  const model = json?.['model'];
  return typeof model === 'string' ? model : 'fake-model';
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function delay(ms: number | undefined): Promise<void> {
  return ms ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
