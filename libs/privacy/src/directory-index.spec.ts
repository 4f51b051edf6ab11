import { describe, expect, it } from '@jest/globals';
import { Detector, type Directory } from './detector.js';
import { DirectoryIndex } from './directory-index.js';
import type { PrivacyProfile } from './profile.js';

const directory: Directory = {
  people: [
    { name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' },
    { name: 'Émile Zola-Brandt', userId: 'u-1002' },
    { name: 'Kalo Merson', userId: 'u-1003' },
  ],
};
const profile: PrivacyProfile = {
  mode: 'mask',
  names: false,
  denyList: ['Project Nightjar'],
} as PrivacyProfile;
const TEXT =
  'Ask Jane Doe (u-1001) and Zola-Brandt, Émile about Project Nightjar; cc kalo merson, Merson, Kalo and u-1003.';

const spans = (detector: Detector) =>
  detector.detect(TEXT, { includeText: true }).map((e) => `${e.type}:${(e as { text?: string }).text}`);

describe('DirectoryIndex', () => {
  it('gives a detector the same findings as the plain directory does', () => {
    const plain = spans(Detector.forProfile(profile, directory));
    expect(plain).toEqual(
      expect.arrayContaining(['person:Jane Doe', 'employee_id:u-1001', 'deny_list:Project Nightjar']),
    );
    expect(spans(Detector.forProfile(profile, DirectoryIndex.build(directory)))).toEqual(plain);
  });

  it('is shared: detectors of two profiles on one index each see the directory and only their own deny list', () => {
    const index = DirectoryIndex.build(directory);
    const other = spans(Detector.forProfile({ mode: 'mask', names: false } as PrivacyProfile, index));
    const own = spans(Detector.forProfile(profile, index));
    expect(own).toContain('deny_list:Project Nightjar');
    expect(other).not.toContain('deny_list:Project Nightjar');
    expect(other).toContain('person:Jane Doe');
    expect(other).toContain('employee_id:u-1003');
  });

  it('builds in chunks, letting the event loop run between them, to the same result', async () => {
    const people = Array.from({ length: 50 }, (_, i) => ({
      name: `Person${i} Tester${i}`,
      userId: `u-${2000 + i}`,
    }));
    const big: Directory = { people: [...directory.people, ...people] };
    let built: DirectoryIndex | undefined;
    const pending = DirectoryIndex.buildAsync(big, { chunk: 5 }).then((index) => (built = index));
    // Event-loop turns that ran while the build was unfinished: one per chunk or so.
    let yielded = 0;
    while (!built) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!built) yielded++;
    }
    await pending;
    expect(yielded).toBeGreaterThan(3);
    expect(built.peopleCount).toBe(big.people.length);
    expect(spans(Detector.forProfile(profile, built))).toEqual(spans(Detector.forProfile(profile, big)));
    expect(Detector.forProfile(profile, built).detect('mail Person49 Tester49 now')).toHaveLength(1);
  });

  it('refuses a detector that normalises otherwise than the index', () => {
    const index = DirectoryIndex.build(directory, { normalize: false });
    expect(() => new Detector({ directory: index })).toThrow(/normalise/);
  });
});
