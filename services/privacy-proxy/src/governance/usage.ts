import type { SseEvent } from '../providers/sse.js';

export type Provider = 'openai' | 'anthropic';

/**
 * A model name as spans, metrics and usage rows may carry it: identifier-shaped (the channel table's
 * rule for `model`), else `other`. A client can write anything into `model`, and what is not an
 * identifier is text the proxy masks in the body — it must not leave through telemetry either.
 */
export function modelLabel(model: string | undefined): string {
  if (!model) return 'unknown';
  return /^[A-Za-z0-9_.:/-]{1,200}$/.test(model) ? model : 'other';
}

/** Token usage of one model call, the same shape for both providers. */
export interface LlmUsage {
  /** Every input token, cache reads and writes included. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Input tokens read from the provider's prompt cache (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`). */
  readonly cachedInputTokens: number;
  /** Anthropic `cache_creation_input_tokens`. */
  readonly cacheWriteTokens: number;
  /** The provider's answer carried no usage: counted from the tokenizer instead. */
  readonly estimated: boolean;
}

/** What the proxy learns from an answer: usage (if the provider sent it), the model, why it stopped. */
export interface AnswerFacts {
  usage?: LlmUsage;
  model?: string;
  finishReasons: string[];
}

type Json = Record<string, unknown>;

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** OpenAI `usage` (chat completions) to LlmUsage; undefined when absent. */
export function openAiUsage(usage: unknown): LlmUsage | undefined {
  if (!isObject(usage)) return undefined;
  const details = usage['prompt_tokens_details'];
  return {
    inputTokens: num(usage['prompt_tokens']),
    outputTokens: num(usage['completion_tokens']),
    cachedInputTokens: isObject(details) ? num(details['cached_tokens']) : 0,
    cacheWriteTokens: 0,
    estimated: false,
  };
}

/** Anthropic `usage` to LlmUsage: its `input_tokens` exclude cache reads and writes, which are added. */
export function anthropicUsage(usage: unknown): LlmUsage | undefined {
  if (!isObject(usage)) return undefined;
  const read = num(usage['cache_read_input_tokens']);
  const written = num(usage['cache_creation_input_tokens']);
  return {
    inputTokens: num(usage['input_tokens']) + read + written,
    outputTokens: num(usage['output_tokens']),
    cachedInputTokens: read,
    cacheWriteTokens: written,
    estimated: false,
  };
}

/** Facts of a JSON answer (chat completion or message). */
export function factsOfJson(provider: Provider, document: unknown): AnswerFacts {
  const facts: AnswerFacts = { finishReasons: [] };
  if (!isObject(document)) return facts;
  if (typeof document['model'] === 'string') facts.model = document['model'];
  if (provider === 'openai') {
    const usage = openAiUsage(document['usage']);
    if (usage) facts.usage = usage;
    const choices = document['choices'];
    if (Array.isArray(choices))
      for (const choice of choices)
        if (isObject(choice) && typeof choice['finish_reason'] === 'string')
          facts.finishReasons.push(choice['finish_reason']);
  } else {
    const usage = anthropicUsage(document['usage']);
    if (usage) facts.usage = usage;
    if (typeof document['stop_reason'] === 'string') facts.finishReasons.push(document['stop_reason']);
  }
  return facts;
}

/** The text a JSON answer holds (for an estimate when it carries no usage). */
export function textOfJson(document: unknown): string {
  if (!isObject(document)) return '';
  let out = '';
  const choices = document['choices'];
  if (Array.isArray(choices))
    for (const choice of choices) {
      const message = isObject(choice) ? choice['message'] : undefined;
      if (isObject(message)) out += JSON.stringify([message['content'] ?? '', message['tool_calls'] ?? '']);
    }
  const content = document['content'];
  if (Array.isArray(content)) out += JSON.stringify(content);
  return out;
}

/** Cap of the stream text kept for an estimate (the answer's own text; a longer stream is estimated by this share). */
const MAX_KEPT_STREAM_CHARS = 1 << 20;

/**
 * Reads usage, model and finish reasons out of a provider's SSE stream as it passes, parsing only the
 * events that can carry them: OpenAI chunks with a `usage` object or a `finish_reason` (the first chunk
 * for the model), Anthropic `message_start` (input usage, model) and `message_delta` (cumulative output
 * usage, stop reason). Keeps the streamed data (capped) for an estimate should no usage arrive.
 */
export class StreamUsageTap {
  private readonly facts: AnswerFacts = { finishReasons: [] };
  private sawModel = false;
  private readonly kept: string[] = [];
  private keptChars = 0;
  private keptAll = true;
  private anthropicInput: LlmUsage | undefined;
  private anthropicOutput = 0;
  private anthropicOutputSeen = false;

  constructor(private readonly provider: Provider) {}

  /** Reads one event; true when it is an OpenAI usage-only chunk (no choices), which the caller may drop. */
  observe(event: SseEvent): boolean {
    const data = event.data;
    if (this.keptAll) {
      this.keptChars += data.length;
      if (this.keptChars <= MAX_KEPT_STREAM_CHARS) this.kept.push(data);
      else this.keptAll = false;
    }
    if (this.provider === 'openai') return this.openAi(data);
    if (event.event === 'message_start' || event.event === 'message_delta') this.anthropic(data);
    return false;
  }

  private openAi(data: string): boolean {
    const interesting = !this.sawModel || data.includes('"usage":{') || data.includes('"finish_reason":"');
    if (!interesting || data === '[DONE]') return false;
    let chunk: Json;
    try {
      chunk = JSON.parse(data) as Json;
    } catch {
      return false;
    }
    if (!isObject(chunk)) return false;
    if (!this.sawModel && typeof chunk['model'] === 'string') {
      this.facts.model = chunk['model'];
      this.sawModel = true;
    }
    const usage = openAiUsage(chunk['usage']);
    if (usage) this.facts.usage = usage;
    const choices = chunk['choices'];
    if (Array.isArray(choices))
      for (const choice of choices)
        if (isObject(choice) && typeof choice['finish_reason'] === 'string')
          this.facts.finishReasons.push(choice['finish_reason']);
    return usage !== undefined && Array.isArray(choices) && choices.length === 0;
  }

  private anthropic(data: string): void {
    let payload: Json;
    try {
      payload = JSON.parse(data) as Json;
    } catch {
      return;
    }
    if (!isObject(payload)) return;
    if (payload['type'] === 'message_start' && isObject(payload['message'])) {
      const message = payload['message'];
      if (typeof message['model'] === 'string') this.facts.model = message['model'];
      this.anthropicInput = anthropicUsage(message['usage']);
      if (this.anthropicInput) this.anthropicOutput = this.anthropicInput.outputTokens;
    } else if (payload['type'] === 'message_delta') {
      const usage = payload['usage'];
      // message_delta's output_tokens is cumulative; newer APIs may repeat the input counts there too.
      if (isObject(usage)) {
        if (typeof usage['output_tokens'] === 'number') {
          this.anthropicOutput = num(usage['output_tokens']);
          this.anthropicOutputSeen = true;
        }
        if (typeof usage['input_tokens'] === 'number' && !this.anthropicInput)
          this.anthropicInput = anthropicUsage(usage);
      }
      const delta = payload['delta'];
      if (isObject(delta) && typeof delta['stop_reason'] === 'string')
        this.facts.finishReasons.push(delta['stop_reason']);
    }
  }

  result(): AnswerFacts {
    if (this.provider === 'anthropic' && this.anthropicInput && this.anthropicOutputSeen)
      this.facts.usage = { ...this.anthropicInput, outputTokens: this.anthropicOutput };
    return this.facts;
  }

  /**
   * The text the model streamed (content, reasoning and tool-argument deltas), for an estimate; only
   * called when no usage came. Cut at the cap.
   */
  keptText(): { text: string; complete: boolean } {
    let text = '';
    for (const data of this.kept) {
      let payload: unknown;
      try {
        payload = JSON.parse(data);
      } catch {
        continue;
      }
      if (!isObject(payload)) continue;
      const choices = payload['choices'];
      if (Array.isArray(choices)) {
        for (const choice of choices) {
          const delta = isObject(choice) ? choice['delta'] : undefined;
          if (!isObject(delta)) continue;
          for (const key of ['content', 'refusal', 'reasoning_content', 'reasoning'])
            if (typeof delta[key] === 'string') text += delta[key];
          const calls = delta['tool_calls'];
          if (Array.isArray(calls))
            for (const call of calls) {
              const fn = isObject(call) ? call['function'] : undefined;
              if (isObject(fn))
                text += `${typeof fn['name'] === 'string' ? fn['name'] : ''}${typeof fn['arguments'] === 'string' ? fn['arguments'] : ''}`;
            }
        }
      }
      const delta = payload['delta'];
      if (isObject(delta))
        for (const key of ['text', 'thinking', 'partial_json'])
          if (typeof delta[key] === 'string') text += delta[key];
    }
    return { text, complete: this.keptAll };
  }
}

type CountTokens = (text: string) => number;
let tokenizer: Promise<CountTokens> | undefined;

/**
 * Tokens of a text by OpenAI's o200k tokenizer (gpt-tokenizer, loaded on first use: the estimate is
 * needed only when a provider answers without usage). For Anthropic models it is an approximation.
 */
export async function countTokens(text: string): Promise<number> {
  tokenizer ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => m.countTokens as CountTokens);
  return (await tokenizer)(text);
}

/**
 * Usage estimated from the tokenizer when the provider's answer carried none: the forwarded request
 * body and the answer's text (JSON syntax included, so this errs high, the safe side for budgets).
 */
export async function estimateUsage(requestBody: string, answerText: string): Promise<LlmUsage> {
  return {
    inputTokens: await countTokens(requestBody),
    outputTokens: await countTokens(answerText),
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    estimated: true,
  };
}

/** A quick upper-ish guess of a request's input tokens before the call (bytes / 4, no tokenizer on the hot path). */
export function quickInputEstimate(bodyBytes: number): number {
  return Math.ceil(bodyBytes / 4);
}
