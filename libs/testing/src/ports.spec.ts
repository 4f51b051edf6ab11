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

  it('hands a port out once per reservation window (to this process and to other jest workers alike)', async () => {
    // One after the other, each port free again when the next is asked for, as for test files in
    // two workers: 400 random picks from the ~22k ports below the range would repeat one in 97 % of
    // runs without the reservation (birthday bound); a repeat is two test servers on one port.
    const ports: number[] = [];
    for (let i = 0; i < 400; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });
});
