export { connectBus, MessageBus } from './connection.js';
export {
  DEFAULT_DUPLICATE_WINDOW_MS,
  DEFAULT_STREAM_MAX_AGE_MS,
  type StreamOptions,
} from './stream-provisioning.js';
export {
  busOptionsFromConfig,
  natsTlsOptions,
  readNkeySeed,
  type BusOptions,
  type NatsConfigKeys,
} from './bus-options.js';
export { BusPermissionError } from './nats-errors.js';
export { lookUntil } from './owner-wait.js';
export {
  allows,
  busPermissions,
  identityName,
  inboxPrefixFor,
  subjectMatches,
  type BusIdentity,
  type BusPermissions,
} from './permissions.js';
export {
  deploymentIdentities,
  generateSecuredBus,
  renderNatsServerConfig,
  type BusUser,
  type GenerateBusOptions,
  type GeneratedBus,
} from './nats-server-config.js';
export type { CallOptions } from './headers.js';
export type { BusStatus, ConsumeOptions, ConsumerHandle, EventContext, MessageContext } from './types.js';
export { DLQ_HEADERS, type DeadLetterReason } from './headers.js';
export { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER } from './event-consumer.js';
export { DEFAULT_BACKOFF_MS, nakDelayMs, retryDelayMs } from './backoff.js';
export { conventionalDurable, deadLetterSubject } from './names.js';
export {
  enqueueEvent,
  outboxChannel,
  outboxEvent,
  OutboxWriter,
  type KeyedOutboxEvent,
  type OutboxEvent,
  type OutboxEventOptions,
} from './outbox-writer.js';
export { OutboxRelay, type OutboxRelayOptions, type PublishedEvent } from './outbox-relay.js';
export { pruneStatements } from './outbox-retention.js';
export { processOnce } from './process-once.js';
export { extractTraceContext, injectTraceContext, MESSAGING_TRACER } from './tracing.js';
export { AppErrorFilter } from './app-error.filter.js';
export { EventHandler, RpcHandler } from './nats-transport.decorators.js';
export {
  NatsTransportServer,
  type NatsTransportEvents,
  type NatsTransportServerOptions,
  type NatsTransportStatus,
} from './nats-transport.server.js';
export { MessagingMetrics } from './metrics.js';
export { countOutcome, resultLabel } from './rpc-outcome.js';
export * from './write-coalescing.js';
export { ReplyInbox } from './reply-inbox.js';
export {
  MESSAGING_RETENTION_ENV,
  MIN_PROCESSED_EVENTS_RETENTION_MS,
  processedEventsRetention,
} from './retention.js';
export { rpcController, rpcRoute, type RpcRoute } from './rpc-routes.js';
