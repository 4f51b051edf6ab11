import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { LlmClient } from './llm-client.js';
import type { AccessToken, AccessTokenSource } from './token-source.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

class CountingTokens implements AccessTokenSource {
  issued = 0;
  private token: AccessToken | undefined;
  async current(): Promise<AccessToken> {
    this.token ??= {
      token: `token-${++this.issued}`,
      expiresAt: Date.now() + 3_600_000,
      subject: 'finance-agent',
      role: 'finance',
    };
    return this.token;
  }
  invalidate(): void {
    this.token = undefined;
  }
  stop(): void {}
}

const sse = (res: ServerResponse, events: string[]) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const event of events) res.write(event);
  res.end();
};

describe('LLM client (OpenAI-compatible, through the privacy proxy)', () => {
  let server: Server;
  let baseUrl: string;
  let handlers: Handler[] = [];
  const seen: Array<{
    url: string;
    authorization: string | undefined;
    traceparent: string | undefined;
    body: Record<string, unknown>;
  }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          url: req.url ?? '',
          authorization: req.headers.authorization,
          traceparent: req.headers.traceparent as string | undefined,
          body: JSON.parse(body) as Record<string, unknown>,
        });
        const handler = handlers.shift();
        if (!handler) return void res.writeHead(500).end();
        handler(req, body, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  beforeEach(() => {
    handlers = [];
    seen.length = 0;
  });

  it('sends the agent token as the API key, the model, tools and extra headers to <proxy>/v1/chat/completions', async () => {
    handlers.push((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          model: 'm',
          choices: [{ message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage: { total_tokens: 3 },
        }),
      );
    });
    const client = new LlmClient({ baseUrl, tokens: new CountingTokens(), model: 'gpt-4o-mini' });
    const result = await client.chat({
      messages: [{ role: 'user', content: 'hello' }],
      tools: [
        { type: 'function', function: { name: 'noop', description: 'x', parameters: { type: 'object' } } },
      ],
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(result).toEqual({
      message: { role: 'assistant', content: 'hi' },
      finishReason: 'stop',
      model: 'm',
      usage: { total_tokens: 3 },
    });
    expect(seen[0]).toMatchObject({
      url: '/v1/chat/completions',
      authorization: 'Bearer token-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(seen[0]!.body).toMatchObject({ model: 'gpt-4o-mini', stream: false, tool_choice: 'auto' });
    expect(await client.endpoint()).toEqual({ baseURL: `${baseUrl}/v1`, apiKey: 'token-1' });
  });

  it('assembles a streamed answer: content deltas, tool calls by index with arguments split anywhere, CRLF framing', async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ model: 's', choices: [{ index: 0, delta, finish_reason: finish }] })}\r\n\r\n`;
    handlers.push((_req, _body, res) =>
      sse(res, [
        chunk({ role: 'assistant', content: null }),
        chunk({
          tool_calls: [
            { index: 0, id: 'call_a', type: 'function', function: { name: 'send_', arguments: '' } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { name: 'task', arguments: '{"to":"le' } }] }),
        chunk({
          tool_calls: [
            { index: 1, id: 'call_b', type: 'function', function: { name: 'notify', arguments: '{}' } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'gal"}' } }] }),
        chunk({}, 'tool_calls'),
        'data: [DONE]\r\n\r\n',
      ]),
    );
    const result = await new LlmClient({
      baseUrl,
      tokens: new CountingTokens(),
      model: 'm',
      stream: true,
    }).chat({ messages: [{ role: 'user', content: 'x' }] });
    expect(seen[0]!.body['stream']).toBe(true);
    expect(result.finishReason).toBe('tool_calls');
    expect(result.message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'send_task', arguments: '{"to":"legal"}' } },
        { id: 'call_b', type: 'function', function: { name: 'notify', arguments: '{}' } },
      ],
    });
  });

  it('treats a stream that breaks off before its end as unavailable (retried, then reported)', async () => {
    const broken: Handler = (_req, _body, res) =>
      sse(res, [`data: ${JSON.stringify({ choices: [{ delta: { content: 'par' } }] })}\n\n`]);
    handlers.push(broken, broken);
    const client = new LlmClient({
      baseUrl,
      tokens: new CountingTokens(),
      model: 'm',
      stream: true,
      maxAttempts: 2,
    });
    await expect(client.chat({ messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(seen).toHaveLength(2);
  });

  it('maps proxy refusals: 422 strict privacy (not retried), 401 once with a fresh token, 503 retried', async () => {
    handlers.push((_req, _body, res) => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: 'request refused by the privacy policy of role legal: it contains ssn',
            code: 'privacy_strict_refused',
          },
        }),
      );
    });
    const tokens = new CountingTokens();
    const client = new LlmClient({ baseUrl, tokens, model: 'm' });
    await expect(client.chat({ messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      code: 'privacy_strict_refused',
      message: expect.stringContaining('contains ssn'),
    });
    expect(seen).toHaveLength(1);

    const answer: Handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }] }));
    };
    handlers.push(
      (_req, _body, res) => res.writeHead(401).end('{}'),
      (_req, _body, res) => res.writeHead(503).end('{}'),
      answer,
    );
    seen.length = 0;
    expect((await client.chat({ messages: [{ role: 'user', content: 'x' }] })).message.content).toBe('ok');
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer token-1', 'Bearer token-2', 'Bearer token-2']);
  });
});
