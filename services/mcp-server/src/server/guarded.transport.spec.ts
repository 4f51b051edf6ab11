import { describe, expect, it } from '@jest/globals';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { createLogger } from '@orgmesh/telemetry';
import { expectEventually } from '@orgmesh/testing';
import { GuardedTransport } from './guarded.transport.js';

const silent = createLogger({ service: 'guarded-transport-test', level: 'silent' });

/** An MCP server with one tool behind a GuardedTransport, and what the client side receives. */
async function newTestServer(answerUnreadable: boolean) {
  const [client, server] = InMemoryTransport.createLinkedPair();
  const received: Array<Record<string, unknown>> = [];
  client.onmessage = (message) => void received.push(message as unknown as Record<string, unknown>);
  await client.start();
  const mcp = new McpServer({ name: 'test', version: '0.0.0' });
  mcp.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  const guarded = new GuardedTransport(server, silent, answerUnreadable);
  await mcp.connect(guarded);
  const send = (message: unknown) => client.send(message as JSONRPCMessage);
  return { received, send, server };
}

describe('GuardedTransport', () => {
  it('answers params that do not fit their method with -32602 naming the path, not -32603', async () => {
    const { received, send } = await newTestServer(false);
    await send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: 'x' } });
    await expectEventually(() => expect(received).toHaveLength(1));
    expect(received[0]).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32602, message: 'Invalid params: params.arguments' },
    });
  });

  it('passes a valid request through to the server', async () => {
    const { received, send } = await newTestServer(false);
    await send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hi' } },
    });
    await expectEventually(() => expect(received).toHaveLength(1));
    expect(received[0]).toMatchObject({ id: 2, result: { content: [{ type: 'text', text: 'hi' }] } });
  });

  it('answers unreadable input with id null when asked to (stdio), and reports it otherwise', async () => {
    const stdio = await newTestServer(true);
    stdio.server.onerror?.(new SyntaxError('Unexpected token'));
    stdio.server.onerror?.(Object.assign(new Error('[]'), { name: 'ZodError' }));
    await expectEventually(() => expect(stdio.received).toHaveLength(2));
    expect(stdio.received.map((m) => [m['id'], (m['error'] as { code: number }).code])).toEqual([
      [null, -32700],
      [null, -32600],
    ]);

    const http = await newTestServer(false);
    http.server.onerror?.(new SyntaxError('Unexpected token'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(http.received).toEqual([]);
  });
});
