import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LlmClient, StaticAccessTokenSource, type ChatMessage } from '@orgmesh/agent-sdk';
import { createLogger } from '@orgmesh/telemetry';
import {
  createScriptedModelServer,
  SCRIPTED_MODEL_LABEL,
  type ScriptedModelServer,
} from './scripted-model.server.js';

const unsignedJwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are legal-agent.\nRole: legal\nAgent id: legal-agent' },
  {
    role: 'user',
    content: [
      'New task from manager-agent (manager).',
      'Task id: 33333333-3333-4333-8333-333333333333',
      'Kind: task',
      'Type: sox-review',
      'Input (JSON):',
      JSON.stringify(
        { approval_task_id: '22222222-2222-4222-8222-222222222222', payee: '[[PERSON_0a1b2c3d]]' },
        null,
        2,
      ),
      '',
      'Do the work.',
    ].join('\n'),
  },
];

describe('scripted model server (OpenAI-compatible, deterministic)', () => {
  let dir: string;
  let model: ScriptedModelServer;
  let url: string;
  const tokens = new StaticAccessTokenSource(
    unsignedJwt({ sub: 'legal-agent', role: 'legal', exp: 4_102_444_800 }),
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scripted-model-'));
    model = createScriptedModelServer({
      logger: createLogger({ service: 'test', level: 'silent' }),
      recordFile: join(dir, 'requests.jsonl'),
      chunkChars: 5,
    });
    url = await model.listen(0);
  });

  afterAll(async () => {
    await model.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('labels itself as deterministic and not an LLM in /v1/models and its headers', async () => {
    const res = await fetch(`${url}/v1/models`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-orgmesh-model')).toBe('scripted model - deterministic, not an LLM');
    expect(SCRIPTED_MODEL_LABEL).toBe('scripted model — deterministic, not an LLM');
    const body = (await res.json()) as { data: Array<{ id: string; description: string }> };
    expect(body.data).toEqual([
      expect.objectContaining({
        id: 'orgmesh-scripted',
        description: 'scripted model — deterministic, not an LLM',
      }),
    ]);
  });

  it('answers the same conversation identically, as JSON and as SSE deltas (tool-call arguments in pieces)', async () => {
    const json = await new LlmClient({ baseUrl: url, tokens, model: 'gpt-4o-mini', stream: false }).chat({
      messages: conversation,
    });
    const streamed = await new LlmClient({ baseUrl: url, tokens, model: 'gpt-4o-mini', stream: true }).chat({
      messages: conversation,
    });
    const again = await new LlmClient({ baseUrl: url, tokens, model: 'gpt-4o-mini', stream: false }).chat({
      messages: conversation,
    });
    expect(json.finishReason).toBe('tool_calls');
    expect(json.message.tool_calls).toHaveLength(1);
    expect(json.message.tool_calls?.[0]?.function.name).toBe('complete_task');
    expect(streamed.message).toEqual(json.message);
    expect(streamed.finishReason).toBe('tool_calls');
    expect(again).toEqual(json);
    const args = JSON.parse(json.message.tool_calls![0]!.function.arguments) as {
      task_id: string;
      result: { reviewed: string };
    };
    expect(args.task_id).toBe('33333333-3333-4333-8333-333333333333');
    expect(args.result.reviewed).toBe('22222222-2222-4222-8222-222222222222');
  });

  it('splits the SSE stream into small deltas ending with [DONE]', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'm',
        stream: true,
        stream_options: { include_usage: true },
        messages: conversation,
      }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.length).toBeGreaterThan(10);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    const usage = JSON.parse(events[events.length - 2]!.slice(6)) as { usage?: { total_tokens: number } };
    expect(usage.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('refuses malformed requests like a provider would', async () => {
    const bad = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: '{"messages":[]}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('messages');
    expect((await fetch(`${url}/v1/embeddings`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('records every request body it received, before answering', async () => {
    const before = model.requests;
    await new LlmClient({ baseUrl: url, tokens, model: 'recorded-model' }).chat({ messages: conversation });
    expect(model.requests).toBe(before + 1);
    const lines = (await readFile(join(dir, 'requests.jsonl'), 'utf8')).trim().split('\n');
    const lastRecord = JSON.parse(lines[lines.length - 1]!) as { path: string; body: string };
    expect(lastRecord.path).toBe('/v1/chat/completions');
    expect(JSON.parse(lastRecord.body)).toMatchObject({ model: 'recorded-model', messages: conversation });
    // The bad request above was recorded too: the file is everything an upstream would have seen.
    expect(lines.some((line) => (JSON.parse(line) as { body: string }).body === '{"messages":[]}')).toBe(
      true,
    );
  });
});

describe('scripted model server body limit', () => {
  let model: ScriptedModelServer;
  let url: string;

  beforeAll(async () => {
    model = createScriptedModelServer({ logger: createLogger({ service: 'test', level: 'silent' }), maxBodyBytes: 256 });
    url = await model.listen(0);
  });

  afterAll(() => model.close());

  it("refuses a body over the limit with 413 in each face's own error shape, declared or chunked, without playing it", async () => {
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(300) }] });
    const openai = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: big });
    expect(openai.status).toBe(413);
    expect(await openai.json()).toEqual({
      error: { message: 'request body too large', type: 'invalid_request_error' },
    });
    const chunks = [big.slice(0, 200), big.slice(200)];
    const anthropic = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(anthropic.status).toBe(413);
    expect(await anthropic.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'request body too large' },
    });
    expect(model.requests).toBe(0);
    const small = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
    expect((await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: small })).status).toBe(200);
    expect(model.requests).toBe(1);
  });
});
