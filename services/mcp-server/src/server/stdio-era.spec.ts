import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { opensModernEra, peekFirstLine } from './stdio-era.js';

describe('stdio era', () => {
  it('opens the 2026-07-28 era only for a first message with the envelope claim', () => {
    const probe = {
      jsonrpc: '2.0',
      id: 1,
      method: 'server/discover',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } },
    };
    expect(opensModernEra(JSON.stringify(probe))).toBe(true);
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2026-07-28' },
    };
    expect(opensModernEra(JSON.stringify(initialize))).toBe(false);
    expect(opensModernEra('{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}')).toBe(false);
    expect(opensModernEra('not json')).toBe(false);
    expect(opensModernEra('null')).toBe(false);
    expect(opensModernEra(undefined)).toBe(false);
  });

  it('reads the first line and gives every byte back to the next reader, split chunks included', async () => {
    const stdin = new PassThrough();
    const peeked = peekFirstLine(stdin);
    stdin.write('{"a":');
    stdin.write('1}\n{"b":2}\n');
    expect(await peeked).toBe('{"a":1}');
    const read: Buffer[] = [];
    stdin.on('data', (chunk: Buffer) => read.push(chunk));
    stdin.resume();
    stdin.end('{"c":3}\n');
    await new Promise((resolve) => stdin.once('end', resolve));
    expect(Buffer.concat(read).toString()).toBe('{"a":1}\n{"b":2}\n{"c":3}\n');
  });

  it('resolves undefined when stdin ends before a line', async () => {
    const stdin = new PassThrough();
    const peeked = peekFirstLine(stdin);
    stdin.end();
    expect(await peeked).toBeUndefined();
  });
});
