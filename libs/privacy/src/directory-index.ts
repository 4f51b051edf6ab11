import { DictionaryMatcher, type DictionaryTerm } from './dictionary.js';
import { DirectoryNames } from './names.js';
import { normalizeForDetection } from './normalize.js';
import type { Directory, DirectoryPerson } from './detector.js';

/** People indexed per event-loop turn by {@link DirectoryIndex.buildAsync}: a few milliseconds of work. */
const PEOPLE_PER_CHUNK = 500;

/**
 * What detection needs of a directory alone, built once and shared by the detectors of every profile
 * (`Detector.forProfile(profile, index)`): the dictionary of its names ("Jane Doe", "Doe, Jane") and
 * user ids, and the names as the name recogniser looks them up. For 100,000 people this is seconds of
 * CPU and over a hundred megabytes, which one detector per profile would each pay again.
 */
export class DirectoryIndex {
  readonly dictionary = new DictionaryMatcher();
  readonly names = new DirectoryNames();
  /** People in the directory indexed. */
  readonly peopleCount: number;

  private constructor(
    readonly directory: Directory,
    /** Terms are normalised as a detector that `normalize`s reads its texts; one that does not needs another index. */
    readonly normalized: boolean,
  ) {
    this.peopleCount = directory.people.length;
  }

  /** Builds the index in one go (tests, small directories). */
  static build(directory: Directory, options: { normalize?: boolean } = {}): DirectoryIndex {
    const index = new DirectoryIndex(directory, options.normalize ?? true);
    for (const person of directory.people) index.add(person);
    return index;
  }

  /**
   * Builds the index in chunks of `chunk` people, yielding to the event loop between them, so that a
   * server indexing a large directory in the background keeps answering requests meanwhile.
   */
  static async buildAsync(
    directory: Directory,
    options: { normalize?: boolean; chunk?: number } = {},
  ): Promise<DirectoryIndex> {
    const index = new DirectoryIndex(directory, options.normalize ?? true);
    const chunk = Math.max(1, options.chunk ?? PEOPLE_PER_CHUNK);
    const people = directory.people;
    for (let i = 0; i < people.length; i++) {
      if (i > 0 && i % chunk === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      index.add(people[i]!);
    }
    return index;
  }

  private add(person: DirectoryPerson): void {
    for (const term of directoryTerms(person, this.normalized)) this.dictionary.add(term);
    this.names.add(person.name);
  }
}

/** The dictionary terms of one person: full name, "Last, First", and the user id when id-shaped. */
export function directoryTerms(person: DirectoryPerson, normalize: boolean): DictionaryTerm[] {
  const terms: DictionaryTerm[] = [];
  // Terms are normalised like the texts they are looked up in (NBSP, full-width letters, …).
  const name = (normalize ? normalizeForDetection(person.name).text : person.name)
    .trim()
    .replace(/\s+/g, ' ');
  const words = name.split(' ');
  if (words.length >= 2) {
    terms.push({ text: name, type: 'person', score: 0.95 });
    const last = words[words.length - 1]!;
    terms.push({ text: `${last}, ${words.slice(0, -1).join(' ')}`, type: 'person', score: 0.95 });
  }
  if (person.userId && /\d/.test(person.userId) && person.userId.length >= 3)
    terms.push({ text: person.userId, type: 'employee_id', score: 0.9 });
  return terms;
}
