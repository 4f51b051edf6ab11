import type { NatsConnection } from '@nats-io/nats-core';

/** The part of nats.js's protocol handler that schedules socket writes (internal API, checked at runtime). */
interface ProtocolInternals {
  outbound: { length(): number; size(): number; fill(buf: Uint8Array, ...payloads: Uint8Array[]): void };
  pendingLimit: number;
  flushPending(): void;
  sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void;
}

const encoder = new TextEncoder();

function protocolOf(nc: NatsConnection): ProtocolInternals | undefined {
  const protocol = (nc as unknown as { protocol?: Partial<ProtocolInternals> }).protocol;
  if (
    !protocol ||
    typeof protocol.sendCommand !== 'function' ||
    typeof protocol.flushPending !== 'function' ||
    typeof protocol.pendingLimit !== 'number' ||
    typeof protocol.outbound?.fill !== 'function' ||
    typeof protocol.outbound.length !== 'function' ||
    typeof protocol.outbound.size !== 'function'
  )
    return undefined;
  return protocol as ProtocolInternals;
}

/**
 * Sends everything a connection writes during one turn of the event loop in ONE socket write.
 *
 * nats.js flushes its outbound buffer in a microtask queued by the first write of a burst. The
 * answers of one group commit (WriteBatcher) reach `respond`/`publish` a few promise hops apart,
 * so that microtask runs after the first of them and each costs its own write. On loopback in a
 * VM a write costs 50–100 µs of CPU (profiles of the mesh router and of its clients are dominated
 * by `writeBuffer`/`writev`), more than the rest of a small RPC. Deferring the flush to
 * `setImmediate` (after the poll phase's I/O callbacks and their microtasks) lets them share one
 * write, for a delay of less than one loop turn. The buffer's size limit still flushes at once.
 *
 * Returns false (and changes nothing) if the client's internals are not the shape this expects.
 */
export function coalesceWrites(nc: NatsConnection): boolean {
  const protocol = protocolOf(nc);
  if (!protocol) return false;
  protocol.sendCommand = function sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void {
    const wasEmpty = this.outbound.length() === 0;
    this.outbound.fill(typeof cmd === 'string' ? encoder.encode(cmd) : cmd, ...payloads);
    if (wasEmpty) setImmediate(() => this.flushPending());
    else if (this.outbound.size() >= this.pendingLimit) this.flushPending();
  };
  return true;
}
