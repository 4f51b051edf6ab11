import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { freePort } from './ports.js';

describe('freePort', () => {
  it('hands out ports below the ephemeral range (never an outgoing connection’s), free to listen on', async () => {
    let rangeStart = 32_768;
    try {
      rangeStart = Number(
        readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
      );
    } catch {
      // not Linux: the default start applies
    }
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(rangeStart);
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '0.0.0.0', () => server.close(() => resolve()));
      });
    }
  });
});
