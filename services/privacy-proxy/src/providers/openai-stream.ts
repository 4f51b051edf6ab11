import type { Restorer, StreamRestorer } from '@orgmesh/privacy';
import { formatSse, jsonData, type SseEvent } from './sse.js';

/** Text fields of an OpenAI chat delta that the model writes. */
const TEXT_FIELDS = ['content', 'refusal', 'reasoning_content', 'reasoning'] as const;

interface ChoiceState {
  readonly text: Map<string, StreamRestorer>;
  readonly tools: Map<number, StreamRestorer>;
}

type Json = Record<string, unknown>;

/**
 * Restores an OpenAI chat-completions SSE stream: one restorer per choice and text field, one per
 * tool call's argument deltas. Held-back tails are flushed as an extra chunk right before the
 * chunk that finishes the choice, and before `[DONE]` for anything still open.
 */
export class OpenAiStreamRestorer {
  private readonly choices = new Map<number, ChoiceState>();
  private template: Json | undefined;
  /** Counts changes made to parsed chunks (restored text, appended tails). */
  private mutations = 0;
  /** True once any text or tool-call argument has been let out (the stream's first token). */
  textSent = false;

  constructor(
    private readonly text: Restorer,
    private readonly json: Restorer,
  ) {}

  /** Serialized output for one upstream event (possibly nothing, possibly several events). */
  transform(event: SseEvent): string {
    if (event.data === '[DONE]') return this.flushAll() + formatSse(event);
    const chunk = jsonData(event);
    if (chunk === undefined) return formatSse(event);
    const choices = chunk['choices'];
    if (!Array.isArray(choices) || choices.length === 0) return formatSse(event);
    this.template ??= {
      id: chunk['id'],
      object: chunk['object'],
      created: chunk['created'],
      model: chunk['model'],
    };
    let before = '';
    let meaningful = chunk['usage'] !== undefined && chunk['usage'] !== null;
    // Most chunks come out as they came in: then the upstream's own text is sent, not a re-serialisation.
    const mutationsBefore = this.mutations;
    for (const choice of choices as Json[]) {
      const index = typeof choice['index'] === 'number' ? choice['index'] : 0;
      const state = this.state(index);
      const delta = choice['delta'] as Json | undefined;
      if (delta && typeof delta === 'object') {
        for (const key of Object.keys(delta)) {
          const value = delta[key];
          if ((TEXT_FIELDS as readonly string[]).includes(key) && typeof value === 'string') {
            const out = this.textStream(state, key).push(value);
            if (out !== value) {
              delta[key] = out;
              this.mutations++;
            }
            if (out.length > 0) this.textSent = true;
            if (out.length > 0 || value.length === 0) meaningful = true;
          } else if (key === 'tool_calls' && Array.isArray(value)) {
            for (const call of value as Json[]) {
              const fn = call['function'] as Json | undefined;
              if (call['id'] !== undefined || (fn && fn['name'] !== undefined)) meaningful = true;
              if (fn && typeof fn['arguments'] === 'string') {
                const out = this.toolStream(
                  state,
                  typeof call['index'] === 'number' ? call['index'] : 0,
                ).push(fn['arguments']);
                if (out !== fn['arguments']) {
                  fn['arguments'] = out;
                  this.mutations++;
                }
                if (out.length > 0) {
                  meaningful = true;
                  this.textSent = true;
                }
              }
            }
          } else if (value !== null && value !== undefined) {
            meaningful = true;
          }
        }
      }
      if (choice['finish_reason'] !== null && choice['finish_reason'] !== undefined) {
        before += this.flushChoice(index, state, delta);
        meaningful = true;
      }
      if (choice['logprobs'] !== null && choice['logprobs'] !== undefined) meaningful = true;
    }
    // A chunk whose only content was held back carries nothing: skip it rather than send empty deltas.
    if (!meaningful) return before;
    return (
      before +
      formatSse(this.mutations === mutationsBefore ? event : { ...event, data: JSON.stringify(chunk) })
    );
  }

  /** At the end of the upstream stream: whatever is still held back (never a placeholder fragment). */
  finish(): string {
    return this.flushAll();
  }

  private state(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (!state) this.choices.set(index, (state = { text: new Map(), tools: new Map() }));
    return state;
  }

  private textStream(state: ChoiceState, field: string): StreamRestorer {
    let s = state.text.get(field);
    if (!s) state.text.set(field, (s = this.text.stream()));
    return s;
  }

  private toolStream(state: ChoiceState, index: number): StreamRestorer {
    let s = state.tools.get(index);
    if (!s) state.tools.set(index, (s = this.json.stream()));
    return s;
  }

  /**
   * Ends every stream of a choice. A tail whose stream has text in `delta` (the chunk that finishes the
   * choice) is appended there, so order is kept; other tails go out as chunks before that one.
   */
  private flushChoice(index: number, state: ChoiceState, delta?: Json): string {
    let out = '';
    for (const [field, s] of state.text) {
      const rest = s.end();
      if (rest.length === 0) continue;
      if (delta && typeof delta[field] === 'string') {
        delta[field] = (delta[field] as string) + rest;
        this.mutations++;
      } else out += this.extraChunk(index, { [field]: rest });
    }
    const calls = delta && Array.isArray(delta['tool_calls']) ? (delta['tool_calls'] as Json[]) : [];
    for (const [toolIndex, s] of state.tools) {
      const rest = s.end();
      if (rest.length === 0) continue;
      const fn = calls.find((c) => (typeof c['index'] === 'number' ? c['index'] : 0) === toolIndex)?.[
        'function'
      ] as Json | undefined;
      if (fn && typeof fn['arguments'] === 'string') {
        fn['arguments'] = (fn['arguments'] as string) + rest;
        this.mutations++;
      } else
        out += this.extraChunk(index, { tool_calls: [{ index: toolIndex, function: { arguments: rest } }] });
    }
    state.text.clear();
    state.tools.clear();
    return out;
  }

  private flushAll(): string {
    let out = '';
    for (const [index, state] of this.choices) out += this.flushChoice(index, state);
    return out;
  }

  private extraChunk(index: number, delta: Json): string {
    const chunk = {
      ...(this.template ?? { object: 'chat.completion.chunk' }),
      choices: [{ index, delta, finish_reason: null }],
    };
    return formatSse({ data: JSON.stringify(chunk) });
  }
}
