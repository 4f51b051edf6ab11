import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { oncePerRegistry, seriesOn, unexpectedErrorsCounter } from '@orgmesh/telemetry';
import type { BusEdge } from './unexpected.js';

const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type LagSource = () => Promise<{ pending: number; oldestAgeMs: number }>;

/**
 * Reads every observed outbox at scrape time and hands each answer to `use`; a read that fails
 * (Postgres unreachable) is skipped, so what it fed keeps its last value.
 */
async function readEach(
  sources: ReadonlyMap<string, LagSource>,
  use: (schema: string, lag: { pending: number; oldestAgeMs: number }) => void,
): Promise<void> {
  await Promise.all(
    [...sources].map(async ([schema, source]) => {
      let lag: { pending: number; oldestAgeMs: number };
      try {
        lag = await source();
      } catch {
        return;
      }
      use(schema, lag);
    }),
  );
}

/**
 * The bus's Prometheus series, registered once per registry (several buses or relays of one
 * process may share a service's registry). Labels are contract subjects and durable names, never
 * payload values. Each series is registered when the process first has something to put in it
 * (the first RPC served, the first redelivery, the first outbox observed): a gateway, which serves
 * no RPC and has no outbox, does not show empty `orgmesh_rpc_server_duration_seconds` or
 * `orgmesh_outbox_lag_seconds` series (ADR 0010).
 */
export class MessagingMetrics {
  private rpcDurationSeries: Histogram<'subject' | 'result'> | undefined;
  private redeliveriesSeries: Counter<'consumer' | 'subject'> | undefined;
  private outboxLagSeries: Gauge<'schema'> | undefined;
  private outboxPendingSeries: Gauge | undefined;
  private readonly lagSources = new Map<string, LagSource>();
  /** The last pending count read per schema: a failed read keeps it, as the lag gauge keeps its value. */
  private readonly lastPending = new Map<string, number>();
  private unexpected: Counter<'edge' | 'subject'> | undefined;

  private readonly series: ReturnType<typeof seriesOn>;

  private constructor(private readonly registry: Registry) {
    this.series = seriesOn(registry);
  }

  /** NATS RPC handler latency; registered with the first RPC served. */
  get rpcDuration(): Histogram<'subject' | 'result'> {
    this.rpcDurationSeries ??= this.series.histogram(
      'orgmesh_rpc_server_duration_seconds',
      'NATS RPC handler latency by contract subject and result (ok, or the error code)',
      { labels: ['subject', 'result'], buckets: RPC_BUCKETS },
    );
    return this.rpcDurationSeries;
  }

  /** JetStream redeliveries; registered with the first one. */
  get redeliveries(): Counter<'consumer' | 'subject'> {
    this.redeliveriesSeries ??= this.series.counter(
      'orgmesh_consumer_redeliveries_total',
      'JetStream deliveries after the first (delivery count > 1) by durable consumer and contract subject',
      { labels: ['consumer', 'subject'] },
    );
    return this.redeliveriesSeries;
  }

  /** Outbox lag by schema, read at scrape time; registered with the first outbox observed. */
  get outboxLag(): Gauge<'schema'> {
    const sources = this.lagSources;
    this.outboxLagSeries ??= this.series.gauge(
      'orgmesh_outbox_lag_seconds',
      'age of the oldest outbox row not yet published to JetStream (0 when none), by schema',
      {
        labels: ['schema'],
        async collect() {
          await readEach(sources, (schema, lag) => this.set({ schema }, lag.oldestAgeMs / 1000));
        },
      },
    );
    return this.outboxLagSeries;
  }

  /**
   * Outbox rows not yet published, summed over the relays observed (a service runs one), read at
   * scrape time; registered with the first outbox observed. Unlabelled, as each stateful service
   * had it before the relay registered it for them.
   */
  get outboxPending(): Gauge {
    const sources = this.lagSources;
    const last = this.lastPending;
    this.outboxPendingSeries ??= this.series.gauge(
      'orgmesh_outbox_pending',
      'outbox rows not yet published to JetStream',
      {
        async read() {
          await readEach(sources, (schema, lag) => last.set(schema, lag.pending));
          let pending = 0;
          for (const [schema, count] of last) if (sources.has(schema)) pending += count;
          return pending;
        },
      },
    );
    return this.outboxPendingSeries;
  }

  /** The messaging series of `registry`, registered on first use. */
  static readonly of = oncePerRegistry((registry) => new MessagingMetrics(registry));

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
    // registers the series with their first source
    void this.outboxLag;
    void this.outboxPending;
    this.lagSources.set(schema, source);
    return () => {
      if (this.lagSources.get(schema) !== source) return;
      this.lagSources.delete(schema);
      this.lastPending.delete(schema);
    };
  }
}
