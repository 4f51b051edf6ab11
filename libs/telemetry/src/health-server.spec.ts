import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, startHealthServer, type HealthServer } from './health-server.js';

/** An IPv4 address of this machine other than loopback, if it has one (a container's eth0). */
function externalIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces()))
    for (const address of addresses ?? [])
      if (address.family === 'IPv4' && !address.internal) return address.address;
  return undefined;
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startHealthServer bind host', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = (host: string) =>
    startHealthServer({
      host,
      port: 0,
      checks: {},
      registry: createMetricsRegistry('test', { defaultMetrics: false }),
    });

  it('binds loopback when asked: reachable on 127.0.0.1, refused on the machine’s other addresses', async () => {
    server = await start('127.0.0.1');
    expect(server.host).toBe('127.0.0.1');
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(health.status).toBe(200);
    const external = externalIPv4();
    if (external) expect(await accepts(external, server.port)).toBe(false);
  });

  it('binds every interface when asked (containers): reachable on a non-loopback address too', async () => {
    server = await start('0.0.0.0');
    expect(server.host).toBe('0.0.0.0');
    expect(await accepts('127.0.0.1', server.port)).toBe(true);
    const external = externalIPv4();
    if (external) expect(await accepts(external, server.port)).toBe(true);
  });

  it('fails to start on an address that is not this machine’s, rather than falling back to another', async () => {
    // 198.51.100.0/24 is TEST-NET-2 (RFC 5737), documentation only.
    await expect(start('198.51.100.7')).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });
});
