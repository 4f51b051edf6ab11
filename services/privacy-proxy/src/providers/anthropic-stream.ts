import type { Restorer, StreamRestorer } from '@orgmesh/privacy';
import { formatSse, jsonData, type SseEvent } from './sse.js';

type Json = Record<string, unknown>;

interface BlockState {
  readonly deltaType: 'text_delta' | 'input_json_delta' | 'thinking_delta';
  readonly field: 'text' | 'partial_json' | 'thinking';
  readonly stream: StreamRestorer;
}

/**
 * Restores an Anthropic messages SSE stream: one restorer per content block (text, thinking, or a
 * tool_use block's `input_json_delta`s). A block's held-back tail is sent as one more delta right
 * before its `content_block_stop`.
 */
export class AnthropicStreamRestorer {
  private readonly blocks = new Map<number, BlockState>();
  /** True once any text, thinking or tool input has been let out (the stream's first token). */
  textSent = false;

  constructor(
    private readonly text: Restorer,
    private readonly json: Restorer,
  ) {}

  transform(event: SseEvent): string {
    const payload = jsonData(event);
    if (payload === undefined) return formatSse(event);
    const type = payload['type'];
    const index = typeof payload['index'] === 'number' ? payload['index'] : 0;
    switch (type) {
      case 'content_block_start': {
        const block = payload['content_block'] as Json | undefined;
        const state = this.open(index, block?.['type']);
        // A text or thinking block may start with content already (tool_use starts with `input: {}`).
        if (state && block && state.field !== 'partial_json' && typeof block[state.field] === 'string') {
          const value = block[state.field] as string;
          const out = value.length > 0 ? state.stream.push(value) : value;
          if (out.length > 0) this.textSent = true;
          if (out !== value) {
            block[state.field] = out;
            return formatSse({ ...event, data: JSON.stringify(payload) });
          }
        }
        // Unchanged: the upstream's own text goes out, not a re-serialisation.
        return formatSse(event);
      }
      case 'content_block_delta': {
        const delta = payload['delta'] as Json | undefined;
        const state = this.blocks.get(index);
        if (!state || !delta || delta['type'] !== state.deltaType || typeof delta[state.field] !== 'string')
          return formatSse(event);
        const value = delta[state.field] as string;
        const out = state.stream.push(value);
        if (out.length > 0) this.textSent = true;
        if (out.length === 0 && value.length > 0) return '';
        if (out === value) return formatSse(event);
        delta[state.field] = out;
        return formatSse({ ...event, data: JSON.stringify(payload) });
      }
      case 'content_block_stop':
        return this.flush(index) + formatSse(event);
      case 'message_stop':
        return this.flushAll() + formatSse(event);
      default:
        return formatSse(event);
    }
  }

  finish(): string {
    return this.flushAll();
  }

  private open(index: number, blockType: unknown): BlockState | undefined {
    let state: BlockState | undefined;
    if (blockType === 'text') state = { deltaType: 'text_delta', field: 'text', stream: this.text.stream() };
    else if (blockType === 'thinking')
      state = { deltaType: 'thinking_delta', field: 'thinking', stream: this.text.stream() };
    else if (blockType === 'tool_use' || blockType === 'server_tool_use') {
      state = { deltaType: 'input_json_delta', field: 'partial_json', stream: this.json.stream() };
    }
    if (state) this.blocks.set(index, state);
    return state;
  }

  private flush(index: number): string {
    const state = this.blocks.get(index);
    if (!state) return '';
    this.blocks.delete(index);
    const rest = state.stream.end();
    if (rest.length === 0) return '';
    const payload = {
      type: 'content_block_delta',
      index,
      delta: { type: state.deltaType, [state.field]: rest },
    };
    return formatSse({ event: 'content_block_delta', data: JSON.stringify(payload) });
  }

  private flushAll(): string {
    let out = '';
    for (const index of [...this.blocks.keys()]) out += this.flush(index);
    return out;
  }
}
