import type { ServerResponse } from 'node:http';
import type { ScriptMessage, ScriptedTurn } from './scenario.script.js';

/**
 * The scripted model's Anthropic Messages face (`POST /v1/messages`): the same script as the OpenAI
 * face, so agents configured with Anthropic models (Claude Code) have a model to call on `npm start`.
 * Requests are read into the script's OpenAI-shaped messages; answers are written as Anthropic
 * `message` objects or its SSE event sequence.
 */

interface AnthropicBlock {
  type?: unknown;
  text?: unknown;
  id?: unknown;
  name?: unknown;
  input?: unknown;
  tool_use_id?: unknown;
  content?: unknown;
}

function blocksOf(content: unknown): AnthropicBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content.filter((b) => typeof b === 'object' && b !== null) as AnthropicBlock[]) : [];
}

function textOfBlocks(content: unknown): string {
  return blocksOf(content)
    .map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : ''))
    .join('');
}

/** An Anthropic request (`system` + `messages`) as the script's messages. */
export function scriptMessagesFromAnthropic(body: { system?: unknown; messages: unknown[] }): ScriptMessage[] {
  const out: ScriptMessage[] = [];
  const system = typeof body.system === 'string' ? body.system : textOfBlocks(body.system);
  if (system) out.push({ role: 'system', content: system });
  for (const raw of body.messages) {
    if (typeof raw !== 'object' || raw === null) continue;
    const message = raw as { role?: unknown; content?: unknown };
    const blocks = blocksOf(message.content);
    if (message.role === 'assistant') {
      const calls = blocks
        .filter((b) => b.type === 'tool_use')
        .map((b) => ({
          id: typeof b.id === 'string' ? b.id : '',
          function: { name: typeof b.name === 'string' ? b.name : '', arguments: JSON.stringify(b.input ?? {}) },
        }));
      out.push({
        role: 'assistant',
        content: textOfBlocks(blocks),
        ...(calls.length ? { tool_calls: calls } : {}),
      });
      continue;
    }
    // A user turn: tool results become `tool` messages (as the OpenAI face sees them), text stays user text.
    for (const block of blocks) {
      if (block.type === 'tool_result') {
        out.push({
          role: 'tool',
          tool_call_id: typeof block.tool_use_id === 'string' ? block.tool_use_id : '',
          content: typeof block.content === 'string' ? block.content : textOfBlocks(block.content),
        });
      }
    }
    const text = textOfBlocks(blocks);
    if (text || !blocks.some((b) => b.type === 'tool_result')) out.push({ role: 'user', content: text });
  }
  return out;
}

function contentOf(turn: ScriptedTurn, seed: string): Array<Record<string, unknown>> {
  if (turn.kind === 'text') return [{ type: 'text', text: turn.text }];
  return turn.calls.map((call, i) => ({
    type: 'tool_use',
    id: `toolu_${seed.slice(0, 12)}_${i}`,
    name: call.name,
    input: call.arguments,
  }));
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
}

export function anthropicMessage(
  turn: ScriptedTurn,
  seed: string,
  model: string,
  usage: AnthropicUsage,
): Record<string, unknown> {
  return {
    id: `msg_scripted_${seed}`,
    type: 'message',
    role: 'assistant',
    model,
    content: contentOf(turn, seed),
    stop_reason: turn.kind === 'text' ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage,
  };
}

/** The answer as Anthropic's SSE sequence: message_start, one block per text/tool_use with deltas, message_delta, message_stop. */
export function streamAnthropic(
  res: ServerResponse,
  turn: ScriptedTurn,
  seed: string,
  model: string,
  usage: AnthropicUsage,
  pieces: (text: string) => string[],
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  const send = (event: string, data: Record<string, unknown>) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  const start = anthropicMessage(turn, seed, model, { input_tokens: usage.input_tokens, output_tokens: 0 });
  send('message_start', { message: { ...start, content: [], stop_reason: null } });
  contentOf(turn, seed).forEach((block, index) => {
    if (block['type'] === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const piece of pieces(String(block['text'])))
        send('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      for (const piece of pieces(JSON.stringify(block['input'])))
        send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: turn.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  send('message_stop', {});
  res.end();
}
