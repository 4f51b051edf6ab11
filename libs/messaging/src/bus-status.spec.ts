import { describe, expect, it } from '@jest/globals';
import type { Status, Subscription } from '@nats-io/nats-core';
import type { Logger } from '@orgmesh/telemetry';
import { busStatusOf, logNatsStatus } from './bus-status.js';

function recordingLogger(): { logger: Logger; lines: unknown[][] } {
  const lines: unknown[][] = [];
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      lines.push([level, ...args]);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger: logger as unknown as Logger, lines };
}

const error = new Error('boom');
const sub = { getSubject: () => 'a.b' } as unknown as Subscription;

describe('NATS connection events', () => {
  it('are logged at their level, with the server, error or subscription they concern', () => {
    const { logger, lines } = recordingLogger();
    const events: Status[] = [
      { type: 'disconnect', server: 's1' },
      { type: 'reconnect', server: 's2' },
      { type: 'reconnecting' },
      { type: 'error', error },
      { type: 'ldm', server: 's3' },
      { type: 'staleConnection' },
      { type: 'slowConsumer', sub, pending: 7 },
      { type: 'ping', pendingPings: 1 },
      { type: 'close' },
    ];
    for (const event of events) logNatsStatus(logger, event);
    expect(lines).toEqual([
      ['warn', { server: 's1' }, 'nats disconnected'],
      ['info', { server: 's2' }, 'nats reconnected'],
      ['debug', 'nats reconnecting'],
      ['error', { err: error }, 'nats error'],
      ['warn', { server: 's3' }, 'nats server entering lame duck mode'],
      ['warn', 'nats connection stale'],
      ['warn', { subject: 'a.b', pending: 7 }, 'nats slow consumer'],
    ]);
  });

  it('reach the bus status listeners only as disconnect, reconnect, reconnecting and error', () => {
    expect(busStatusOf({ type: 'disconnect', server: 's1' })).toEqual({ type: 'disconnect', server: 's1' });
    expect(busStatusOf({ type: 'reconnect', server: 's2' })).toEqual({ type: 'reconnect', server: 's2' });
    expect(busStatusOf({ type: 'reconnecting' })).toEqual({ type: 'reconnecting' });
    expect(busStatusOf({ type: 'error', error })).toEqual({ type: 'error', error });
    expect(busStatusOf({ type: 'ldm', server: 's3' })).toBeUndefined();
    expect(busStatusOf({ type: 'slowConsumer', sub, pending: 1 })).toBeUndefined();
  });
});
