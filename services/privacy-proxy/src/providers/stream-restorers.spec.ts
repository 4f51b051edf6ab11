import { describe, expect, it } from '@jest/globals';
import { jsonStringContent, PlaceholderMapping, Pseudonymizer, Restorer } from '@orgmesh/privacy';
import { AnthropicStreamRestorer } from './anthropic-stream.js';
import { OpenAiStreamRestorer } from './openai-stream.js';
import { SseParser } from './sse.js';

const mapping = new PlaceholderMapping();
const pseudonymizer = new Pseudonymizer('stream-restorer-test-key-0123456789');
const EMAIL = pseudonymizer.placeholder('t', 'email', 'ann@example.com', mapping);
const NAME = pseudonymizer.placeholder('t', 'person', 'Zoë "Z" Ng', mapping);
const text = new Restorer(mapping);
const json = new Restorer(mapping, { encode: jsonStringContent });

function events(output: string): Array<{ event?: string; data: string }> {
  const parser = new SseParser();
  return [...parser.push(output), ...parser.end()];
}

describe('OpenAiStreamRestorer', () => {
  it('restores content and tool arguments split across chunks; flushes held tails before finish_reason', () => {
    const r = new OpenAiStreamRestorer(text, json);
    const chunk = (delta: unknown, finish: string | null = null) => ({
      data: JSON.stringify({
        id: 'c1',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [{ index: 0, delta, finish_reason: finish }],
      }),
    });
    const args = JSON.stringify({ to: NAME });
    let out = '';
    out += r.transform(chunk({ role: 'assistant', content: '' }));
    out += r.transform(chunk({ content: `Mail ${EMAIL.slice(0, 9)}` }));
    out += r.transform(chunk({ content: `${EMAIL.slice(9)} now ${NAME.slice(0, 4)}` }));
    out += r.transform(
      chunk({
        tool_calls: [
          {
            index: 0,
            id: 'call_1',
            type: 'function',
            function: { name: 'send', arguments: args.slice(0, 10) },
          },
        ],
      }),
    );
    out += r.transform(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(10) } }] }));
    out += r.transform(chunk({}, 'stop'));
    out += r.transform({ data: '[DONE]' });
    const parsed = events(out);
    expect(parsed[parsed.length - 1]!.data).toBe('[DONE]');
    let content = '';
    let toolArgs = '';
    let finishedAt = -1;
    parsed.slice(0, -1).forEach((e, i) => {
      const c = JSON.parse(e.data) as {
        choices: Array<{
          delta: { content?: string; tool_calls?: Array<{ function?: { arguments?: string } }> };
          finish_reason: string | null;
        }>;
      };
      const choice = c.choices[0]!;
      content += choice.delta.content ?? '';
      for (const call of choice.delta.tool_calls ?? []) toolArgs += call.function?.arguments ?? '';
      if (choice.finish_reason) finishedAt = i;
    });
    // "[[PE" was held back and, the stream ending there, dropped as a placeholder fragment.
    expect(content).toBe('Mail ann@example.com now ');
    expect(JSON.parse(toolArgs)).toEqual({ to: 'Zoë "Z" Ng' });
    expect(finishedAt).toBe(parsed.length - 2);
  });

  it('keeps order when the finishing chunk itself carries text that was held back', () => {
    const r = new OpenAiStreamRestorer(text, json);
    const bare = EMAIL.slice(2, -2);
    const out = r.transform({
      data: JSON.stringify({
        choices: [{ index: 0, delta: { content: `Hi ${bare}` }, finish_reason: 'stop' }],
      }),
    });
    const content = events(out)
      .map(
        (e) =>
          (JSON.parse(e.data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta
            .content ?? '',
      )
      .join('');
    expect(content).toBe('Hi ann@example.com');
  });

  it('passes usage-only chunks and unparseable data through', () => {
    const r = new OpenAiStreamRestorer(text, json);
    expect(r.transform({ data: '{"choices":[],"usage":{"total_tokens":3}}' })).toBe(
      'data: {"choices":[],"usage":{"total_tokens":3}}\n\n',
    );
    expect(r.transform({ data: 'not json' })).toBe('data: not json\n\n');
  });
});

describe('JSON data that is not an object (an odd upstream)', () => {
  it('passes through both restorers as it came instead of failing the stream', () => {
    for (const data of ['null', '42', '"text"', '[1]']) {
      expect(new OpenAiStreamRestorer(text, json).transform({ data })).toBe(`data: ${data}\n\n`);
      expect(new AnthropicStreamRestorer(text, json).transform({ data })).toBe(`data: ${data}\n\n`);
    }
  });
});

describe('AnthropicStreamRestorer', () => {
  it('restores text and input_json deltas per block and flushes before content_block_stop', () => {
    const r = new AnthropicStreamRestorer(text, json);
    const ev = (type: string, data: object) => ({ event: type, data: JSON.stringify({ type, ...data }) });
    const input = JSON.stringify({ to: NAME, cc: EMAIL });
    let out = '';
    out += r.transform(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    out += r.transform(
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `Hi ${NAME.slice(0, 3)}` } }),
    );
    out += r.transform(
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: NAME.slice(3, -1) } }),
    );
    out += r.transform(ev('content_block_stop', { index: 0 }));
    out += r.transform(
      ev('content_block_start', {
        index: 1,
        content_block: { type: 'tool_use', id: 't', name: 'send', input: {} },
      }),
    );
    for (let i = 0; i < input.length; i += 3)
      out += r.transform(
        ev('content_block_delta', {
          index: 1,
          delta: { type: 'input_json_delta', partial_json: input.slice(i, i + 3) },
        }),
      );
    out += r.transform(ev('content_block_stop', { index: 1 }));
    out += r.transform(ev('message_stop', {}));
    const parsed = events(out).map((e) => ({
      event: e.event,
      ...(JSON.parse(e.data) as {
        type: string;
        index?: number;
        delta?: { text?: string; partial_json?: string };
      }),
    }));
    const textOut = parsed
      .filter((e) => e.type === 'content_block_delta' && e.index === 0)
      .map((e) => e.delta!.text)
      .join('');
    const jsonOut = parsed
      .filter((e) => e.type === 'content_block_delta' && e.index === 1)
      .map((e) => e.delta!.partial_json)
      .join('');
    // The model dropped the last bracket: still a complete placeholder, restored at the block's end.
    expect(textOut).toBe('Hi Zoë "Z" Ng');
    expect(JSON.parse(jsonOut)).toEqual({ to: 'Zoë "Z" Ng', cc: 'ann@example.com' });
    expect(parsed.every((e) => e.event === e.type)).toBe(true);
    const stopIndex = parsed.findIndex((e) => e.type === 'content_block_stop' && e.index === 0);
    expect(parsed[stopIndex - 1]!.type).toBe('content_block_delta');
  });
});

describe('events the restore leaves unchanged', () => {
  it('go out as the upstream wrote them (OpenAI); changed ones are serialised again', () => {
    const r = new OpenAiStreamRestorer(text, json);
    // Spacing and key order a re-serialisation would not keep.
    const plain =
      '{"id": "c1",  "choices": [{"index": 0, "delta": {"content": "Hello "}, "finish_reason": null}]}';
    expect(r.transform({ data: plain })).toBe(`data: ${plain}\n\n`);
    const masked = `{"id": "c1", "choices": [{"index": 0, "delta": {"content": "to ${EMAIL} "}, "finish_reason": null}]}`;
    const out = events(r.transform({ data: masked }));
    expect(out).toHaveLength(1);
    expect(out[0]!.data).not.toBe(masked);
    expect(
      (JSON.parse(out[0]!.data) as { choices: Array<{ delta: { content: string } }> }).choices[0]!.delta
        .content,
    ).toBe('to ann@example.com ');
  });

  it('go out as the upstream wrote them (Anthropic); changed ones are serialised again', () => {
    const r = new AnthropicStreamRestorer(text, json);
    const start =
      '{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}';
    expect(r.transform({ event: 'content_block_start', data: start })).toBe(
      `event: content_block_start\ndata: ${start}\n\n`,
    );
    const plain =
      '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi "}}';
    expect(r.transform({ event: 'content_block_delta', data: plain })).toBe(
      `event: content_block_delta\ndata: ${plain}\n\n`,
    );
    const masked = `{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "to ${EMAIL} "}}`;
    const out = events(r.transform({ event: 'content_block_delta', data: masked }));
    expect((JSON.parse(out[0]!.data) as { delta: { text: string } }).delta.text).toBe('to ann@example.com ');
  });
});

describe('textSent (the stream relay writes the first token on its own)', () => {
  const openaiChunk = (delta: unknown) => ({
    data: JSON.stringify({
      id: 'c',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta, finish_reason: null }],
    }),
  });

  it('OpenAI: false for the role chunk and while a placeholder fragment is held back, true once text leaves', () => {
    const r = new OpenAiStreamRestorer(text, json);
    r.transform(openaiChunk({ role: 'assistant', content: '' }));
    expect(r.textSent).toBe(false);
    expect(r.transform(openaiChunk({ content: EMAIL.slice(0, 5) }))).toBe('');
    expect(r.textSent).toBe(false);
    r.transform(openaiChunk({ content: `${EMAIL.slice(5)} ok` }));
    expect(r.textSent).toBe(true);
  });

  it('OpenAI: true once tool-call arguments leave', () => {
    const r = new OpenAiStreamRestorer(text, json);
    r.transform(
      openaiChunk({
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'send', arguments: '' } }],
      }),
    );
    expect(r.textSent).toBe(false);
    r.transform(openaiChunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1' } }] }));
    expect(r.textSent).toBe(true);
  });

  it('Anthropic: false for message_start and an empty block start, true at the first text delta that leaves', () => {
    const r = new AnthropicStreamRestorer(text, json);
    const event = (type: string, payload: object) => ({
      event: type,
      data: JSON.stringify({ type, ...payload }),
    });
    r.transform(event('message_start', { message: { id: 'm', content: [] } }));
    r.transform(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    expect(r.textSent).toBe(false);
    r.transform(
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: NAME.slice(0, 3) } }),
    );
    expect(r.textSent).toBe(false);
    r.transform(
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `${NAME.slice(3)}!` } }),
    );
    expect(r.textSent).toBe(true);
  });
});
