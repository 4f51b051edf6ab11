import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { unexpectedErrorsCounter } from '@orgmesh/telemetry';
import type { BusEdge } from './unexpected.js';

const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type LagSource = () => Promise<{ pending: number; oldestAgeMs: number }>;

/**
 * The bus's Prometheus series, registered once per registry (several buses or relays of one
 * process may share a service's registry). Labels are contract subjects and durable names, never
 * payload values.
 */
export class MessagingMetrics {
  readonly rpcDuration: Histogram<'subject' | 'result'>;
  readonly redeliveries: Counter<'consumer' | 'subject'>;
  readonly outboxLag: Gauge<'schema'>;
  private readonly lagSources = new Map<string, LagSource>();
  private unexpected: Counter<'edge' | 'subject'> | undefined;

  private constructor(private readonly registry: Registry) {
    this.rpcDuration = new Histogram({
      name: 'orgmesh_rpc_server_duration_seconds',
      help: 'NATS RPC handler latency by contract subject and result (ok, or the error code)',
      labelNames: ['subject', 'result'],
      buckets: RPC_BUCKETS,
      registers: [registry],
    });
    this.redeliveries = new Counter({
      name: 'orgmesh_consumer_redeliveries_total',
      help: 'JetStream deliveries after the first (delivery count > 1) by durable consumer and contract subject',
      labelNames: ['consumer', 'subject'],
      registers: [registry],
    });
    const sources = this.lagSources;
    this.outboxLag = new Gauge({
      name: 'orgmesh_outbox_lag_seconds',
      help: 'age of the oldest outbox row not yet published to JetStream (0 when none), by schema',
      labelNames: ['schema'],
      registers: [registry],
      async collect() {
        await Promise.all(
          [...sources].map(async ([schema, source]) => {
            try {
              this.set({ schema }, (await source()).oldestAgeMs / 1000);
            } catch {
              // keeps its last value while Postgres is unreachable
            }
          }),
        );
      },
    });
  }

  private static readonly byRegistry = new WeakMap<Registry, MessagingMetrics>();

  /** The messaging series of `registry`, registered on first use. */
  static of(registry: Registry): MessagingMetrics {
    let metrics = MessagingMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new MessagingMetrics(registry);
      MessagingMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  /**
   * Counts an error no code path anticipated (the last-resort boundary answered or dead-lettered
   * it), into the process's one `orgmesh_unexpected_errors_total` (libs/telemetry), found or
   * created on first use.
   */
  countUnexpected(edge: BusEdge, subject: string): void {
    this.unexpected ??= unexpectedErrorsCounter(this.registry);
    this.unexpected.inc({ edge, subject });
  }

  /** Where the outbox lag of `schema` is read at scrape time; returns the function that stops it. */
  observeOutbox(schema: string, source: LagSource): () => void {
    this.lagSources.set(schema, source);
    return () => {
      if (this.lagSources.get(schema) === source) this.lagSources.delete(schema);
    };
  }
}
