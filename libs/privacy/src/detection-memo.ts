import { randomBytes } from 'node:crypto';
import type { Detector } from './detector.js';
import type { Entity } from './entity.js';
import { HmacSha256 } from './hmac-sha256.js';

export interface DetectionMemoOptions {
  /** Texts remembered per detector, least recently used first out (0: the memo is off). */
  readonly maxEntries?: number;
  /** Texts shorter than this are detected every time: cheap to detect, not worth an entry. */
  readonly minChars?: number;
  /** Told of every lookup (the proxy's `orgmesh_privacy_detection_memo_total`). */
  readonly observe?: (result: 'hit' | 'miss') => void;
}

/** What the memo did so far (the proxy's metrics, tests, the bench). */
export interface DetectionMemoStats {
  hits: number;
  misses: number;
}

const DEFAULT_MAX_ENTRIES = 4096;
const DEFAULT_MIN_CHARS = 256;

/**
 * Detection results of texts seen before, per detector. An agent's model calls send the whole
 * conversation again on every turn (Claude Code, Goose, the SDKs' chat loops), so without this the
 * proxy detects the same history once per turn, and a long conversation's turns cost more and more;
 * with it, a turn costs detecting what is new in it plus one keyed hash per earlier text.
 *
 * Only the detector's own findings in one text are remembered (types and offsets): the
 * seams between texts, the values found elsewhere in the request, actions and placeholders are
 * worked out per request as before, so a request gets the same masking with or without the memo.
 * A detector is built per profile and directory, so a changed profile or directory starts empty.
 * Texts are keyed by an HMAC under a key drawn at start, never by their content: the memo holds no
 * text, and a key cannot be tested against a guessed text outside the process.
 */
export class DetectionMemo {
  readonly stats: DetectionMemoStats = { hits: 0, misses: 0 };
  private readonly maxEntries: number;
  private readonly minChars: number;
  private readonly observe: ((result: 'hit' | 'miss') => void) | undefined;
  private readonly hmac = new HmacSha256(randomBytes(32));
  private readonly byDetector = new WeakMap<Detector, Map<string, readonly Entity[]>>();

  constructor(options: DetectionMemoOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.minChars = options.minChars ?? DEFAULT_MIN_CHARS;
    this.observe = options.observe;
  }

  /**
   * `detector.detect(text, { normalize: false })`, remembered: `text` is already as the detector reads
   * it (a masking session's prepared text). The result is shared by every request that sends the text
   * and must not be changed: its type says so (readonly array of readonly entities). It is not frozen
   * at run time: frozen entities took the masking session's spreads and merges off V8's fast paths,
   * +0.22 M instructions per new 4 KB text in the proxy (callgrind), twice what the keyed hash costs.
   */
  detect(detector: Detector, text: string): readonly Entity[] {
    if (this.maxEntries <= 0 || text.length < this.minChars) return detector.detect(text, NOT_AGAIN);
    let seen = this.byDetector.get(detector);
    if (!seen) this.byDetector.set(detector, (seen = new Map()));
    const key = this.hmac.digest(text, 'base64');
    const known = seen.get(key);
    if (known) {
      this.stats.hits++;
      this.observe?.('hit');
      // Least recently used goes first: a hit moves to the end of the map's order.
      seen.delete(key);
      seen.set(key, known);
      return known;
    }
    this.stats.misses++;
    this.observe?.('miss');
    const found: readonly Entity[] = detector.detect(text, NOT_AGAIN);
    seen.set(key, found);
    if (seen.size > this.maxEntries) seen.delete(seen.keys().next().value!);
    return found;
  }
}

const NOT_AGAIN = { normalize: false } as const;
