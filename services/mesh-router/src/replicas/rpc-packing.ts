import { gaugeSeries } from '@orgmesh/telemetry';
import type { Logger } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';

export interface RpcPackingOptions {
  /** Queue-group members per RPC of the replica that packs; every other replica holds one. */
  readonly weight: number;
  /**
   * The packing replica's CPU, as a share of one core over the last interval, above which it
   * spreads (weight 1, an even split); it packs again below 3/8 of it, after ten intervals at least.
   */
  readonly spreadCpu: number;
  /** A replica that does not pack learns the others' task events while it takes at least this many requests per second. */
  readonly learnAboveRps: number;
  /** How often it tries the lock and measures its own load. */
  readonly intervalMs: number;
}

/** What RpcPacking steers; the router's bus, lock and replica sync (interfaces, so tests can count). */
export interface PackingParts {
  /** The lock only one replica holds: the one that packs (libs/persistence SessionLock). */
  readonly lock: { tryAcquire(): Promise<boolean>; close(): Promise<void> };
  /** The router's bus: members per served RPC, and the requests taken so far. */
  readonly bus: { setServeWeight(weight: number): void; readonly requestsTaken: number };
  /** The replica cache sync (ReplicaCacheSync). */
  readonly sync: { setLearning(on: boolean): void };
  /** Process CPU time in µs (process.cpuUsage); tests pin it. */
  readonly cpuMicros?: () => number;
  /** Monotonic ms (performance.now); tests pin it. */
  readonly nowMs?: () => number;
}

/** Intervals a spread replica stays spread at least (staysSpread). */
const SPREAD_HOLD = 10;

/** Where a replica stands (gauges, logs, tests). */
export interface PackingState {
  /** Holds the lock: the replica the requests are packed on, unless it is saturated. */
  readonly packing: boolean;
  /** Its CPU passed `spreadCpu`, and it has not packed again since (see staysSpread). */
  readonly saturated: boolean;
  /** Queue-group members per RPC it holds now. */
  readonly weight: number;
  /** Whether it learns the other replicas' task events (ReplicaCacheSync). */
  readonly learning: boolean;
}

/**
 * Pack, then spread (ADR 0024). NATS hands a request to one member of the RPC's queue group, chosen
 * uniformly; with two replicas of one member each, each replica takes half of every burst, so each
 * batches half as much (group commit, one socket write per loop turn) and pays each wake-up for
 * less work: on a loaded two-core machine two replicas cost twice the CPU per lifecycle of one and
 * delivered fewer (services/mesh-router/README.md). So one replica — the holder of a Postgres
 * session lock — holds `weight` members per RPC and takes nearly every request while it has CPU
 * to spare; the others stay members with one each. When the packing replica's CPU passes
 * `spreadCpu` it drops to one member and the load spreads evenly, as a queue group always did.
 *
 * Nothing here decides availability: every replica stays a member of every queue group, so a
 * replica that dies takes its members with its connection and the others answer at once; the lock
 * goes with its Postgres connection, and another replica packs from its next interval. A replica
 * that cannot reach Postgres does not pack.
 */
export class RpcPacking {
  private current: PackingState = { packing: false, saturated: false, weight: 1, learning: true };
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private last: { cpu: number; at: number; taken: number } | undefined;
  /** When it last spread (nowMs). */
  private spreadAt = 0;
  private readonly cpuMicros: () => number;
  private readonly nowMs: () => number;

  constructor(
    private readonly parts: PackingParts,
    private readonly options: RpcPackingOptions,
    private readonly logger: Logger,
    registry?: Registry,
  ) {
    this.cpuMicros =
      parts.cpuMicros ??
      (() => {
        const { user, system } = process.cpuUsage();
        return user + system;
      });
    this.nowMs = parts.nowMs ?? (() => performance.now());
    if (registry) {
      gaugeSeries('orgmesh_mesh_rpc_weight', 'queue-group members this replica holds per RPC (RpcPacking)', {
        read: () => this.current.weight,
      })(registry);
      gaugeSeries(
        'orgmesh_mesh_rpc_packing',
        '1 while this replica holds the packing lock (it takes nearly every request unless saturated)',
        { read: () => (this.current.packing ? 1 : 0) },
      )(registry);
    }
  }

  get state(): PackingState {
    return this.current;
  }

  /** Decides once now, then every interval. */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops deciding, hands the requests back (one member: a replica shutting down should not keep
   * taking nearly all of them) and gives the lock up (another replica packs from its next interval).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    if (this.current.weight !== 1) this.parts.bus.setServeWeight(1);
    this.current = { ...this.current, packing: false, saturated: false, weight: 1 };
    await this.parts.lock.close();
  }

  /** One decision: the lock, the replica's CPU and request rate since the last one, then the weight. */
  tick(): Promise<void> {
    // An interval whose lock attempt is still waiting on Postgres is skipped, not queued.
    this.ticking ??= this.decide().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async decide(): Promise<void> {
    const packing = await this.parts.lock.tryAcquire().catch(() => false);
    const { cpuShare, rps } = this.measure();
    const { spreadCpu, weight, learnAboveRps } = this.options;
    const saturated = cpuShare > spreadCpu || (this.current.saturated && this.staysSpread(cpuShare));
    const next: PackingState = {
      packing,
      saturated: packing && saturated,
      weight: packing && !saturated ? weight : 1,
      learning: packing || rps >= learnAboveRps,
    };
    const previous = this.current;
    this.current = next;
    if (next.saturated && !previous.saturated) this.spreadAt = this.nowMs();
    if (next.weight !== previous.weight) this.parts.bus.setServeWeight(next.weight);
    if (next.learning !== previous.learning) this.parts.sync.setLearning(next.learning);
    if (next.weight !== previous.weight || next.packing !== previous.packing)
      this.logger.info({ ...next, cpuShare: Number(cpuShare.toFixed(2)) }, 'rpc packing changed');
  }

  /**
   * Spread, this replica carries its share only: packing again brings the others' load back to it,
   * at least as much again with one other replica. So it packs again only once its own CPU is below
   * 3/8 of `spreadCpu` (three quarters of the threshold, halved), and not before SPREAD_HOLD
   * intervals have passed: with more replicas the load that comes back can still be too much, and
   * the hold bounds how often it tries.
   */
  private staysSpread(cpuShare: number): boolean {
    const held = this.nowMs() - this.spreadAt < SPREAD_HOLD * this.options.intervalMs;
    return held || cpuShare >= this.options.spreadCpu * 0.375;
  }

  /** CPU as a share of one core, and requests taken per second, since the previous decision. */
  private measure(): { cpuShare: number; rps: number } {
    const now = { cpu: this.cpuMicros(), at: this.nowMs(), taken: this.parts.bus.requestsTaken };
    const last = this.last;
    this.last = now;
    const elapsedMs = last ? now.at - last.at : 0;
    if (!last || elapsedMs <= 0) return { cpuShare: 0, rps: 0 };
    return {
      cpuShare: (now.cpu - last.cpu) / 1000 / elapsedMs,
      rps: ((now.taken - last.taken) * 1000) / elapsedMs,
    };
  }
}
