import type { Status } from '@nats-io/nats-core';
import type { Logger } from '@orgmesh/telemetry';
import type { BusStatus } from './types.js';

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

interface StatusLine<S extends Status> {
  readonly level: LogLevel;
  readonly message: string;
  /** What the line says of the event (which server, error or subscription); none: the message alone. */
  readonly fields?: (status: S) => Record<string, unknown>;
}

/**
 * How each connection event of the NATS client is logged. Events not listed (pings, cluster
 * updates, forced reconnects, the close the status loop ends with) are not logged.
 */
const STATUS_LINES: { readonly [T in Status['type']]?: StatusLine<Extract<Status, { type: T }>> } = {
  disconnect: { level: 'warn', message: 'nats disconnected', fields: (s) => ({ server: s.server }) },
  reconnect: { level: 'info', message: 'nats reconnected', fields: (s) => ({ server: s.server }) },
  reconnecting: { level: 'debug', message: 'nats reconnecting' },
  error: { level: 'error', message: 'nats error', fields: (s) => ({ err: s.error }) },
  ldm: {
    level: 'warn',
    message: 'nats server entering lame duck mode',
    fields: (s) => ({ server: s.server }),
  },
  staleConnection: { level: 'warn', message: 'nats connection stale' },
  slowConsumer: {
    level: 'warn',
    message: 'nats slow consumer',
    fields: (s) => ({ subject: s.sub.getSubject(), pending: s.pending }),
  },
};

/** Logs a connection event of the NATS client as STATUS_LINES says (nothing for one it does not list). */
export function logNatsStatus(logger: Logger, status: Status): void {
  // The table's row for status.type is the row for this status's own variant.
  const line = STATUS_LINES[status.type] as StatusLine<Status> | undefined;
  if (!line) return;
  if (line.fields) logger[line.level](line.fields(status), line.message);
  else logger[line.level](line.message);
}

/** The bus's own view of a connection event, for its status listeners; undefined for the others. */
export function busStatusOf(status: Status): BusStatus | undefined {
  switch (status.type) {
    case 'disconnect':
    case 'reconnect':
      return { type: status.type, server: status.server };
    case 'reconnecting':
      return { type: 'reconnecting' };
    case 'error':
      return { type: 'error', error: status.error };
    default:
      return undefined;
  }
}
