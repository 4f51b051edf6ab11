import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@orgmesh/telemetry';
import { Registry } from 'prom-client';
import { RpcPacking } from './rpc-packing.js';

/** A replica's parts as RpcPacking sees them, each a value the test sets between decisions. */
function replica(options: { lock?: () => Promise<boolean> } = {}) {
  const seen = { weights: [] as number[], learning: [] as boolean[], closed: false };
  const load = { cpuMicros: 0, nowMs: 0, taken: 0, holdsLock: true };
  const parts = {
    lock: {
      tryAcquire: options.lock ?? (async () => load.holdsLock),
      close: async () => void (seen.closed = true),
    },
    bus: {
      setServeWeight: (w: number) => void seen.weights.push(w),
      get requestsTaken() {
        return load.taken;
      },
    },
    sync: { setLearning: (on: boolean) => void seen.learning.push(on) },
    cpuMicros: () => load.cpuMicros,
    nowMs: () => load.nowMs,
  };
  const registry = new Registry();
  const packing = new RpcPacking(
    parts,
    { weight: 128, spreadCpu: 0.8, learnAboveRps: 200, intervalMs: 1000 },
    createLogger({ service: 'test', level: 'silent' }),
    registry,
  );
  /** One second in which the replica used `cpu` of a core and took `rps` requests. */
  const second = async (cpu: number, rps: number) => {
    load.nowMs += 1000;
    load.cpuMicros += cpu * 1_000_000;
    load.taken += rps;
    await packing.tick();
  };
  return { packing, seen, load, second, registry };
}

describe('RpcPacking', () => {
  it('packs on the lock holder while it has CPU to spare, spreads past spreadCpu, packs again only well below it', async () => {
    const { packing, seen, second, registry } = replica();
    await second(0.2, 500);
    expect(packing.state).toEqual({ packing: true, saturated: false, weight: 128, learning: true });
    expect(seen.weights).toEqual([128]);
    await second(0.9, 3000);
    expect(packing.state).toMatchObject({ saturated: true, weight: 1 });
    // Spread, it carries half the load: 0.45 of a core is the 0.9 it would take back (no flapping),
    // and even an idle second within the hold keeps it spread.
    await second(0.05, 100);
    expect(packing.state.weight).toBe(1);
    for (let s = 0; s < 12; s++) await second(0.45, 1500);
    expect(packing.state.weight).toBe(1);
    expect(seen.weights).toEqual([128, 1]);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/orgmesh_mesh_rpc_weight 1\n/);
    expect(metrics).toMatch(/orgmesh_mesh_rpc_packing 1/);
  });

  it('packs again once spread for ten intervals and below 3/8 of spreadCpu', async () => {
    const { packing, seen, second, registry } = replica();
    await second(0.2, 500);
    await second(0.9, 3000);
    for (let s = 0; s < 9; s++) await second(0.2, 800);
    expect(packing.state.weight).toBe(1);
    await second(0.2, 800);
    expect(packing.state).toMatchObject({ saturated: false, weight: 128 });
    expect(seen.weights).toEqual([128, 1, 128]);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/orgmesh_mesh_rpc_weight 128/);
    expect(metrics).toMatch(/orgmesh_mesh_rpc_packing 1/);
  });

  it('keeps one member on a replica without the lock, and learns only while it takes enough requests', async () => {
    const { packing, seen, load, second } = replica();
    load.holdsLock = false;
    await second(0.05, 10);
    expect(packing.state).toEqual({ packing: false, saturated: false, weight: 1, learning: false });
    expect(seen.weights).toEqual([]);
    expect(seen.learning).toEqual([false]);
    // The packing replica spread (or died): this one now takes half the load.
    await second(0.6, 900);
    expect(packing.state.learning).toBe(true);
    // It takes the lock once the holder is gone.
    load.holdsLock = true;
    await second(0.3, 900);
    expect(packing.state).toMatchObject({ packing: true, weight: 128 });
    expect(seen.learning).toEqual([false, true]);
  });

  it('hands the requests back and the lock up at stop', async () => {
    const { packing, seen, second } = replica();
    await second(0.2, 500);
    await packing.stop();
    expect(seen.weights).toEqual([128, 1]);
    expect(packing.state).toMatchObject({ packing: false, weight: 1 });
    expect(seen.closed).toBe(true);
  });

  it('does not pack when Postgres cannot be reached, and gives the lock up at stop', async () => {
    const { packing, seen, second } = replica({ lock: () => Promise.reject(new Error('ECONNREFUSED')) });
    await second(0.1, 50);
    expect(packing.state).toMatchObject({ packing: false, weight: 1 });
    await packing.stop();
    expect(seen.closed).toBe(true);
  });
});
