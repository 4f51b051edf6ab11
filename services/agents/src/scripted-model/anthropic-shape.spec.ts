import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import { createLogger } from '@orgmesh/telemetry';
import { createScriptedModelServer, type ScriptedModelServer } from './scripted-model.server.js';

const system = 'You are legal-agent.\nRole: legal\nAgent id: legal-agent';
const brief = [
  'New task from manager-agent (manager).',
  'Task id: 33333333-3333-4333-8333-333333333333',
  'Kind: task',
  'Type: sox-review',
  'Input (JSON):',
  JSON.stringify({ approval_task_id: '22222222-2222-4222-8222-222222222222' }, null, 2),
  '',
  'Do the work.',
].join('\n');

describe('scripted model, Anthropic Messages face (official SDK)', () => {
  let model: ScriptedModelServer;
  let client: Anthropic;

  beforeAll(async () => {
    model = createScriptedModelServer({ logger: createLogger({ service: 'test', level: 'silent' }), chunkChars: 4 });
    const url = await model.listen(0);
    client = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
  });

  afterAll(async () => {
    await model.close();
  });

  it('answers a Claude-model conversation with the script: a tool_use, the same as JSON and as a stream', async () => {
    const request = {
      model: 'orgmesh-scripted',
      max_tokens: 1024,
      system,
      messages: [{ role: 'user' as const, content: brief }],
    };
    const json = await client.messages.create(request);
    expect(json.stop_reason).toBe('tool_use');
    const toolUse = json.content.find((b) => b.type === 'tool_use');
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'complete_task' });
    expect((toolUse as { input: { task_id: string } }).input.task_id).toBe('33333333-3333-4333-8333-333333333333');
    expect(json.usage.input_tokens).toBeGreaterThan(0);

    const streamed = await client.messages.stream(request).finalMessage();
    expect(streamed.content).toEqual(json.content);
    expect(streamed.stop_reason).toBe('tool_use');
  });

  it('reads tool results back: after complete_task succeeded the script ends the turn with text', async () => {
    const first = await client.messages.create({
      model: 'orgmesh-scripted',
      max_tokens: 1024,
      system,
      messages: [{ role: 'user', content: brief }],
    });
    const toolUse = first.content.find((b) => b.type === 'tool_use')!;
    const second = await client.messages.create({
      model: 'orgmesh-scripted',
      max_tokens: 1024,
      system,
      messages: [
        { role: 'user', content: brief },
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: (toolUse as { id: string }).id, content: '{"state":"completed"}' }],
        },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content[0]).toMatchObject({ type: 'text' });
  });

  it('refuses malformed requests in Anthropic’s error shape', async () => {
    await expect(
      client.messages.create({ model: 'claude', max_tokens: 1, messages: [] }),
    ).rejects.toMatchObject({ status: 400 });
    const res = await fetch(`${(client as unknown as { baseURL: string }).baseURL}/v1/messages`, {
      method: 'POST',
      body: 'not json',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'the body is not JSON' },
    });
  });
});
