import { describe, expect, it } from '@jest/globals';
import { Detector, type Directory, type PrivacyProfile } from '@orgmesh/privacy';
import { DetectorCache, type DetectorBuilder } from './detector-cache.js';

const finance = { mode: 'mask', names: false } as PrivacyProfile;
const legal = { mode: 'mask', names: false, denyList: ['Project Nightjar'] } as PrivacyProfile;
const v1: Directory = { people: [{ name: 'Kalo Merson' }] };
const v2: Directory = { people: [{ name: 'Kalo Merson' }, { name: 'Vinta Rosdalson' }] };
const v3: Directory = { people: [{ name: 'Vinta Rosdalson' }] };
const versions = new Map([
  [v1, 1],
  [v2, 2],
  [v3, 3],
]);

/** A builder whose index builds wait until the test lets them finish, and that counts its calls. */
function gatedBuilder() {
  const gates = new Map<Directory, () => void>();
  const calls = { index: [] as Directory[], detector: [] as Array<[PrivacyProfile, Directory]> };
  let failNext = false;
  const builder: DetectorBuilder<Directory> = {
    index: (directory) => {
      calls.index.push(directory);
      const fail = failNext;
      failNext = false;
      return new Promise<Directory>((resolve, reject) =>
        gates.set(directory, () => (fail ? reject(new Error('index failed')) : resolve(directory))),
      );
    },
    detector: (profile, directory) => {
      calls.detector.push([profile, directory]);
      return Detector.forProfile(profile, directory);
    },
  };
  const finish = async (directory: Directory) => {
    await expectSoon(() => gates.has(directory));
    gates.get(directory)!();
    gates.delete(directory);
  };
  return { builder, calls, finish, failNextBuild: () => (failNext = true) };
}

async function expectSoon(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

/** Settles within a few event-loop turns, or reports 'pending'. */
async function settledSoon<T>(promise: Promise<T>): Promise<T | 'pending'> {
  let outcome: T | 'pending' = 'pending';
  void promise.then((value) => (outcome = value));
  for (let i = 0; i < 20 && outcome === 'pending'; i++) await new Promise((resolve) => setImmediate(resolve));
  return outcome;
}

const knows = (detector: Detector, name: string) =>
  detector.detect(`Please ask ${name} about it.`).some((e) => e.type === 'person');

function newCache(builder: DetectorBuilder<Directory>, builds: Array<[number, string]> = []) {
  return new DetectorCache(
    builder,
    (directory) => ({ orgVersion: versions.get(directory) ?? 0, people: directory.people.length }),
    { built: (seconds, outcome) => builds.push([seconds, outcome]) },
  );
}

describe('DetectorCache', () => {
  it('builds once for concurrent first requests, which all wait for that one build', async () => {
    const { builder, calls, finish } = gatedBuilder();
    const builds: Array<[number, string]> = [];
    const cache = newCache(builder, builds);
    const first = [1, 2, 3, 4, 5].map(() => cache.detector(finance, v1));
    expect(await settledSoon(first[0]!)).toBe('pending');
    await finish(v1);
    const detectors = await Promise.all(first);
    expect(calls.index).toEqual([v1]);
    expect(new Set(detectors).size).toBe(1);
    expect(knows(detectors[0]!, 'Kalo Merson')).toBe(true);
    expect(builds.map(([, outcome]) => outcome)).toEqual(['ok']);
    expect(cache.status()).toEqual({ inUse: { orgVersion: 1, people: 1 } });
  });

  it('serves the previous directory at once while a new one builds, then swaps to it', async () => {
    const { builder, calls, finish } = gatedBuilder();
    const cache = newCache(builder);
    const pending = cache.detector(finance, v1);
    await finish(v1);
    const old = await pending;

    cache.prepare(v2); // the source announced a new directory
    expect(cache.status()).toMatchObject({
      inUse: { orgVersion: 1 },
      building: { orgVersion: 2, people: 2 },
    });
    // A request during the build does not wait for it: the previous directory answers.
    const during = await settledSoon(cache.detector(finance, v2));
    expect(during).toBe(old);
    expect(knows(old, 'Vinta Rosdalson')).toBe(false);

    await finish(v2);
    // The profile in use got its detector on the new directory before the swap, not on a request.
    await expectSoon(() => cache.status().inUse?.orgVersion === 2);
    expect(
      calls.detector.filter(([profile, directory]) => profile === finance && directory === v2),
    ).toHaveLength(1);
    const after = await cache.detector(finance, v2);
    expect(knows(after, 'Vinta Rosdalson')).toBe(true);
    expect(cache.status()).toEqual({ inUse: { orgVersion: 2, people: 2 } });
    expect(calls.index).toEqual([v1, v2]);
  });

  it('starts a build from a request that sees a newer directory, and does not start it twice', async () => {
    const { builder, calls, finish } = gatedBuilder();
    const cache = newCache(builder);
    const pending = cache.detector(finance, v1);
    await finish(v1);
    const old = await pending;
    expect(await settledSoon(cache.detector(finance, v2))).toBe(old);
    expect(await settledSoon(cache.detector(finance, v2))).toBe(old);
    cache.prepare(v2);
    await finish(v2);
    await expectSoon(() => cache.status().inUse?.orgVersion === 2);
    expect(calls.index).toEqual([v1, v2]);
  });

  it('gives a profile it has not seen its own detector at once on the directory in use', async () => {
    const { builder, finish } = gatedBuilder();
    const cache = newCache(builder);
    const pending = cache.detector(finance, v1);
    await finish(v1);
    await pending;
    cache.prepare(v2);
    // legal (or a changed profile, which is a new object) during the rebuild: its own deny list applies.
    const detector = await settledSoon(cache.detector(legal, v2));
    expect(detector).not.toBe('pending');
    expect((detector as Detector).detect('about Project Nightjar').map((e) => e.type)).toEqual(['deny_list']);
    await finish(v2);
  });

  it('keeps the previous directory when a build fails, reports it, and builds again on the next one', async () => {
    const { builder, calls, finish, failNextBuild } = gatedBuilder();
    const builds: Array<[number, string]> = [];
    const cache = newCache(builder, builds);
    const pending = cache.detector(finance, v1);
    await finish(v1);
    const old = await pending;

    failNextBuild();
    cache.prepare(v2);
    await finish(v2);
    await expectSoon(() => builds.length === 2);
    expect(builds.map(([, outcome]) => outcome)).toEqual(['ok', 'error']);
    expect(cache.status()).toEqual({ inUse: { orgVersion: 1, people: 1 } });
    expect(await settledSoon(cache.detector(finance, v2))).toBe(old); // and this request retries the build
    await finish(v2);
    await expectSoon(() => cache.status().inUse?.orgVersion === 2);
    expect(calls.index).toEqual([v1, v2, v2]);
  });

  it('fails the first requests when the first build fails, and the next request tries again', async () => {
    const { builder, finish, failNextBuild } = gatedBuilder();
    const cache = newCache(builder);
    failNextBuild();
    const first = cache.detector(finance, v1);
    await finish(v1);
    await expect(first).rejects.toThrow('index failed');
    const second = cache.detector(finance, v1);
    await finish(v1);
    expect(knows(await second, 'Kalo Merson')).toBe(true);
  });

  it('serves a first request from the first directory built when a newer one is queued behind it', async () => {
    const { builder, finish } = gatedBuilder();
    const cache = newCache(builder);
    cache.prepare(v1);
    const first = cache.detector(finance, v2);
    await finish(v1);
    // v2's build has not been let finish: the first request is answered with v1.
    expect(knows(await first, 'Kalo Merson')).toBe(true);
    expect(cache.status()).toMatchObject({ inUse: { orgVersion: 1 }, building: { orgVersion: 2 } });
    await finish(v2);
    await expectSoon(() => cache.status().inUse?.orgVersion === 2);
  });

  it('is not serving (readiness) until the first build ends, and then is', async () => {
    const { builder, finish } = gatedBuilder();
    const cache = newCache(builder);
    expect(await cache.serves(10)).toBe(false); // nothing known yet
    cache.prepare(v1);
    expect(await cache.serves(20)).toBe(false); // built for longer than the wait
    const waiting = cache.serves(60_000);
    await finish(v1);
    expect(await waiting).toBe(true); // the wait ends with the build
    cache.prepare(v2);
    expect(await cache.serves(0)).toBe(true); // a rebuild does not make it unready
    await finish(v2);
  });

  it('carries on only the profiles requested while the previous directory served', async () => {
    const { builder, calls, finish } = gatedBuilder();
    const cache = newCache(builder);
    const pending = Promise.all([cache.detector(finance, v1), cache.detector(legal, v1)]);
    await finish(v1);
    await pending;
    // Only finance is asked for while v2 serves (legal changed, say: its old object is not asked again).
    cache.prepare(v2);
    await finish(v2);
    await expectSoon(() => cache.status().inUse?.orgVersion === 2);
    await cache.detector(finance, v2);
    cache.prepare(v3);
    await finish(v3);
    await expectSoon(() => cache.status().inUse?.orgVersion === 3);
    const builtOn = (directory: Directory) =>
      calls.detector
        .filter(([, on]) => on === directory)
        .map(([profile]) => (profile === finance ? 'finance' : 'legal'));
    expect(builtOn(v2)).toEqual(['finance', 'legal']);
    expect(builtOn(v3)).toEqual(['finance']);
  });

  it('builds one directory at a time, in order', async () => {
    const { builder, calls, finish } = gatedBuilder();
    const cache = newCache(builder);
    const pending = cache.detector(finance, v1);
    cache.prepare(v2);
    // v2 waits for v1's build to end before it starts.
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(calls.index).toEqual([v1]);
    await finish(v1);
    await pending;
    await finish(v2);
    await expectSoon(() => cache.status().inUse?.orgVersion === 2);
    expect(calls.index).toEqual([v1, v2]);
  });
});
