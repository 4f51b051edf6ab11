import { AppError, type ErrorCode } from '@orgmesh/contracts';
import type { AccessTokenSource } from './token-source.js';

/** One tool call of an assistant message (OpenAI chat completions shape). */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/** A function the model may call, described by a JSON schema. */
export interface ChatTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ChatTool[];
  toolChoice?: 'auto' | 'none' | 'required';
  temperature?: number;
  /** Overrides the client's model for this call. */
  model?: string;
  /** Overrides the client's streaming choice for this call. */
  stream?: boolean;
  /** Extra HTTP headers, e.g. `traceparent` to continue the task's trace. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ChatResult {
  message: { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] };
  finishReason: string | null;
  model: string | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
}

export interface LlmClientOptions {
  /** The privacy proxy's base URL (`http://127.0.0.1:8090`); `/v1` is appended unless present. */
  baseUrl: string;
  /** The agent's orgmesh token: the proxy authenticates the agent with it (the provider key never leaves the proxy). */
  tokens: AccessTokenSource;
  model: string;
  /** Ask for SSE streaming and assemble the deltas; default false. */
  stream?: boolean;
  /** Per call, including the whole stream; default 120 s. */
  timeoutMs?: number;
  /** Attempts for retryable failures (network, 429, 5xx); default 3. */
  maxAttempts?: number;
  fetch?: typeof fetch;
}

/**
 * OpenAI-compatible chat completions through the privacy proxy: the agent's JWT is the API key, so
 * the proxy knows the role (and its privacy profile) and the provider key stays in the proxy. JSON
 * and SSE streaming; tool calls are assembled from their deltas. Proxy errors become AppErrors with
 * the proxy's meaning (`privacy_strict_refused` when the role's profile refuses the content).
 */
export class LlmClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: LlmClientOptions) {
    const base = options.baseUrl.replace(/\/+$/, '');
    this.baseUrl = base.endsWith('/v1') ? base : `${base}/v1`;
    this.fetchImpl = options.fetch ?? fetch;
  }

  get model(): string {
    return this.options.model;
  }

  /**
   * `{ baseURL, apiKey }` for the official `openai` package (`new OpenAI(await llm.endpoint())`), for
   * agents that prefer it. The key is the agent's current token: build a new client after a refresh.
   */
  async endpoint(): Promise<{ baseURL: string; apiKey: string }> {
    return { baseURL: this.baseUrl, apiKey: (await this.options.tokens.current()).token };
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    const attempts = Math.max(1, this.options.maxAttempts ?? 3);
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(request);
      } catch (error) {
        if (!(error instanceof AppError) || request.signal?.aborted) throw error;
        if (error.code === 'unauthenticated' && !refreshed) {
          // The token may have been rotated or expired in between: one retry with a fresh one.
          refreshed = true;
          this.options.tokens.invalidate();
          continue;
        }
        if (!error.retryable || attempt >= attempts) throw error;
        await sleep(Math.min(4_000, 250 * 2 ** (attempt - 1)), request.signal);
      }
    }
  }

  private async once(request: ChatRequest): Promise<ChatResult> {
    const stream = request.stream ?? this.options.stream ?? false;
    const token = (await this.options.tokens.current()).token;
    const body: Record<string, unknown> = {
      model: request.model ?? this.options.model,
      messages: request.messages,
      stream,
    };
    if (request.tools?.length) {
      body['tools'] = request.tools;
      body['tool_choice'] = request.toolChoice ?? 'auto';
    }
    if (request.temperature !== undefined) body['temperature'] = request.temperature;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 120_000);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: stream ? 'text/event-stream' : 'application/json',
          authorization: `Bearer ${token}`,
          ...(request.headers ?? {}),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (cause) {
      throw abortOr(
        cause,
        request.signal,
        new AppError('unavailable', `model endpoint ${this.baseUrl} unreachable`, { cause }),
      );
    }
    if (!response.ok) throw await errorOf(response);
    try {
      const contentType = response.headers.get('content-type') ?? '';
      if (contentType.includes('text/event-stream') && response.body)
        return await assembleStream(response.body);
      return parseCompletion(await response.json());
    } catch (cause) {
      if (cause instanceof AppError) throw cause;
      throw abortOr(
        cause,
        request.signal,
        new AppError('unavailable', 'the model answer broke off', { cause }),
      );
    }
  }
}

function abortOr(cause: unknown, signal: AbortSignal | undefined, fallback: AppError): AppError {
  if (signal?.aborted) return new AppError('unavailable', 'the model call was aborted', { cause });
  if (cause instanceof Error && cause.name === 'TimeoutError')
    return new AppError('timeout', 'the model did not answer in time', { cause });
  return fallback;
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  422: 'privacy_strict_refused',
  429: 'rate_limited',
  502: 'unavailable',
  503: 'unavailable',
  504: 'timeout',
};

async function errorOf(response: Response): Promise<AppError> {
  const text = await response.text().catch(() => '');
  let message = `model endpoint answered ${response.status}`;
  let code: ErrorCode =
    STATUS_CODES[response.status] ?? (response.status >= 500 ? 'unavailable' : 'internal');
  try {
    const parsed = JSON.parse(text) as {
      error?: { message?: unknown; code?: unknown };
      detail?: unknown;
      code?: unknown;
    };
    const detail = parsed.error?.message ?? parsed.detail;
    if (typeof detail === 'string') message = `${message}: ${detail.slice(0, 500)}`;
    const named = parsed.error?.code ?? parsed.code;
    if (named === 'privacy_strict_refused') code = 'privacy_strict_refused';
  } catch {
    // not JSON: the status says enough
  }
  return new AppError(code, message, { details: { status: response.status } });
}

interface CompletionJson {
  model?: unknown;
  choices?: Array<{ message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }>;
  usage?: ChatResult['usage'];
}

/** A non-streamed chat completion. */
export function parseCompletion(json: unknown): ChatResult {
  const completion = json as CompletionJson;
  const choice = completion.choices?.[0];
  if (!choice?.message) throw new AppError('internal', 'the model answered without a choice');
  const toolCalls = Array.isArray(choice.message.tool_calls)
    ? (choice.message.tool_calls as ChatToolCall[])
    : undefined;
  return {
    message: {
      role: 'assistant',
      content: typeof choice.message.content === 'string' ? choice.message.content : null,
      ...(toolCalls?.length ? { tool_calls: toolCalls.map(normaliseToolCall) } : {}),
    },
    finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
    model: typeof completion.model === 'string' ? completion.model : null,
    ...(completion.usage ? { usage: completion.usage } : {}),
  };
}

function normaliseToolCall(call: ChatToolCall): ChatToolCall {
  return {
    id: call.id,
    type: 'function',
    function: { name: call.function.name, arguments: call.function.arguments ?? '' },
  };
}

interface ChunkJson {
  model?: unknown;
  choices?: Array<{
    delta?: {
      content?: unknown;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: unknown;
  }>;
  usage?: ChatResult['usage'];
  error?: { message?: unknown };
}

/** Assembles an SSE chat-completion stream: content deltas concatenated, tool calls by index. */
export async function assembleStream(body: ReadableStream<Uint8Array>): Promise<ChatResult> {
  const decoder = new TextDecoder();
  let buffer = '';
  let content = '';
  let sawContent = false;
  let finishReason: string | null = null;
  let model: string | null = null;
  let usage: ChatResult['usage'] | undefined;
  let done = false;
  const calls: Array<{ id: string; name: string; arguments: string }> = [];

  const onData = (data: string) => {
    if (data === '[DONE]') {
      done = true;
      return;
    }
    const chunk = JSON.parse(data) as ChunkJson;
    if (chunk.error)
      throw new AppError('unavailable', `the model stream failed: ${String(chunk.error.message ?? 'error')}`);
    if (typeof chunk.model === 'string') model = chunk.model;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') {
        content += delta.content;
        sawContent = true;
      }
      for (const part of delta.tool_calls ?? []) {
        const index = part.index ?? calls.length;
        const call = (calls[index] ??= { id: '', name: '', arguments: '' });
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name += part.function.name;
        if (part.function?.arguments) call.arguments += part.function.arguments;
      }
      if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
    }
  };

  const drain = (final: boolean) => {
    for (;;) {
      const boundary = /\r?\n\r?\n/.exec(buffer);
      if (!boundary) {
        if (!final || !buffer.trim()) return;
      }
      const block = boundary ? buffer.slice(0, boundary.index) : buffer;
      buffer = boundary ? buffer.slice(boundary.index + boundary[0].length) : '';
      const data = block
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) onData(data);
      if (!boundary) return;
    }
  };

  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    drain(false);
  }
  buffer += decoder.decode();
  drain(true);
  if (!done && finishReason === null) throw new AppError('unavailable', 'the model stream ended early');
  const toolCalls = calls.filter(Boolean).map((c, i) => ({
    id: c.id || `call_${i}`,
    type: 'function' as const,
    function: { name: c.name, arguments: c.arguments },
  }));
  return {
    message: {
      role: 'assistant',
      content: sawContent ? content : null,
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
    },
    finishReason,
    model,
    ...(usage ? { usage } : {}),
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
