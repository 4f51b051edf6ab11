import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createLogger } from '@orgmesh/telemetry';
import { GatewayMetrics } from '../gateway.metrics.js';
import { answerLastResort } from './error-response.js';

describe('answerLastResort', () => {
  const registry = new Registry();
  const ctx = {
    logger: createLogger({ service: 'gateway-unit', level: 'silent' }),
    metrics: new GatewayMetrics(registry),
  };
  let close: (() => void) | undefined;

  afterEach(() => close?.());

  async function serve(handle: (res: ServerResponse) => void): Promise<string> {
    const server = createServer((_req, res) => handle(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = () => server.close();
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  const counted = async () =>
    (await registry.getSingleMetric('orgmesh_unexpected_errors_total')?.get())?.values
      .filter((v) => v.labels['edge'] === 'http')
      .reduce((sum, v) => sum + v.value, 0) ?? 0;

  it('answers a response that has not started as the bare internal problem and counts it', async () => {
    const before = await counted();
    const url = await serve((res) => answerLastResort(ctx, res, new Error('secret detail'), 'abc'));
    const res = await fetch(url);
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ status: 500, code: 'internal', detail: 'internal error' });
    expect(text).not.toContain('secret detail');
    expect(await counted()).toBe(before + 1);
  });

  it('cuts off a response that has started, and never throws itself', async () => {
    const url = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '50' });
      res.write('{"partial":');
      expect(() => answerLastResort(ctx, res, new Error('late'), undefined)).not.toThrow();
    });
    await expect(fetch(url).then((res) => res.text())).rejects.toThrow();
  });
});
