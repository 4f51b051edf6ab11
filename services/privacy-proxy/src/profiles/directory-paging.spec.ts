import { describe, expect, it } from '@jest/globals';
import { AppError, type GetDirectory, type RpcRequest, type RpcResponse } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { RegistryProfileSource } from './registry-profile-source.js';
import { NatsRegistryReader, type RegistryChange, type RegistryReader } from './registry-reader.js';

type Page = RpcResponse<typeof GetDirectory>;
type Person = Page['people'][number];

const person = (n: number): Person => ({
  userId: `u-${n}`,
  name: `Person ${n}`,
  email: `p${n}@acme.example`,
  department: 'Finance',
});

/** A registry answering directory pages of `pageSize` from `people()`, at `orgVersion()` per page. */
function pagedBus(people: () => Person[], orgVersion: () => number, pageSize = 2) {
  const requests: Array<RpcRequest<typeof GetDirectory>> = [];
  const bus = {
    async request(_rpc: unknown, request: RpcRequest<typeof GetDirectory>): Promise<Page> {
      requests.push(request);
      const all = people();
      const start = request.after ? all.findIndex((p) => p.userId === request.after) + 1 : 0;
      const slice = all.slice(start, start + Math.min(request.limit ?? pageSize, pageSize));
      const more = start + slice.length < all.length;
      return {
        people: slice,
        orgVersion: orgVersion(),
        version: 1,
        ...(more ? { nextAfter: slice.at(-1)!.userId } : {}),
      };
    },
  };
  return { bus: bus as unknown as MessageBus, requests };
}

describe('NatsRegistryReader.getDirectory', () => {
  it('reads every page and returns the people in order', async () => {
    const { bus, requests } = pagedBus(
      () => [1, 2, 3, 4, 5].map(person),
      () => 7,
    );
    const directory = await new NatsRegistryReader(bus, 1_000).getDirectory();
    expect(directory?.people.map((p) => p.userId)).toEqual(['u-1', 'u-2', 'u-3', 'u-4', 'u-5']);
    expect(directory?.orgVersion).toBe(7);
    expect(requests.map((r) => r.after)).toEqual([undefined, 'u-2', 'u-4']);
  });

  it('starts over when an import lands between two pages, so no dictionary mixes two charts', async () => {
    let version = 1;
    let calls = 0;
    const { bus } = pagedBus(
      () => (version === 1 ? [1, 2, 3, 4].map(person) : [10, 11, 12].map(person)),
      () => {
        calls++;
        // The import lands after the first page of the first reading.
        if (calls === 2) version = 2;
        return version;
      },
    );
    const directory = await new NatsRegistryReader(bus, 1_000).getDirectory();
    expect(directory?.orgVersion).toBe(2);
    expect(directory?.people.map((p) => p.userId)).toEqual(['u-10', 'u-11', 'u-12']);
  });

  it('gives up with unavailable when the chart keeps changing', async () => {
    let version = 0;
    const { bus } = pagedBus(
      () => [1, 2, 3].map(person),
      () => ++version,
    );
    await expect(new NatsRegistryReader(bus, 1_000).getDirectory()).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('answers undefined after one one-person page while the org version is the one in use', async () => {
    const { bus, requests } = pagedBus(
      () => [1, 2, 3].map(person),
      () => 4,
    );
    expect(await new NatsRegistryReader(bus, 1_000).getDirectory(4)).toBeUndefined();
    expect(requests).toEqual([{ limit: 1 }]);
    expect((await new NatsRegistryReader(bus, 1_000).getDirectory(3))?.people).toHaveLength(3);
  });
});

describe('RegistryProfileSource.directoryStatus', () => {
  class Registry implements RegistryReader {
    down = false;
    orgVersion = 3;
    async getDirectory(unless?: number) {
      if (this.down) throw new AppError('timeout', 'rpc.registry.v1.directory timed out');
      if (unless === this.orgVersion) return undefined;
      return { people: [person(1), person(2)], orgVersion: this.orgVersion, version: 1 };
    }
    getProfile(): never {
      throw new Error('not used');
    }
    getProfileById(): never {
      throw new Error('not used');
    }
    getAgent(): never {
      throw new Error('not used');
    }
    watch(_listener: (change: RegistryChange) => void) {
      return () => undefined;
    }
  }

  it('says loaded and fresh, then stale with a growing age while the registry is down, then fresh again', async () => {
    const registry = new Registry();
    let now = 1_000_000;
    const source = new RegistryProfileSource(registry, createLogger({ service: 'test', level: 'silent' }), {
      ttlMs: 10_000,
      retryAfterMs: 1_000,
      now: () => now,
    });
    expect(source.directoryStatus()).toMatchObject({ loaded: false, stale: false, ageSeconds: 0 });
    const first = await source.getDirectory();
    expect(source.directoryStatus()).toEqual({
      loaded: true,
      stale: false,
      ageSeconds: 0,
      orgVersion: 3,
      people: 2,
    });

    registry.down = true;
    now += 15_000;
    // The last good dictionary is still what detection gets.
    expect(await source.getDirectory()).toBe(first);
    expect(source.directoryStatus()).toMatchObject({ loaded: true, stale: true, ageSeconds: 15, people: 2 });
    now += 5_000;
    expect(await source.getDirectory()).toBe(first);
    expect(source.directoryStatus()).toMatchObject({ stale: true, ageSeconds: 20 });

    registry.down = false;
    now += 5_000;
    // Same org version: confirmed without a new dictionary object.
    expect(await source.getDirectory()).toBe(first);
    expect(source.directoryStatus()).toMatchObject({ stale: false, ageSeconds: 0, orgVersion: 3 });
  });
});
