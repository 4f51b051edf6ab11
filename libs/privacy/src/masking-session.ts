import type { Detector } from './detector.js';
import type { Entity, EntityType } from './entity.js';
import { actionFor, type PrivacyMode, type PrivacyProfile } from './profile.js';
import { PlaceholderMapping, type Pseudonymizer } from './pseudonymizer.js';
import { Restorer, type RestoreOptions } from './restorer.js';

/** What a request contained, per entity type; never values. */
export type EntityCounts = Partial<Record<EntityType, number>>;

/**
 * Applies one role profile to every text of one request: detection, per-entity actions, masking, and
 * the restore mapping built from the request's own content. Create one per request.
 */
export class MaskingSession {
  readonly mapping = new PlaceholderMapping();
  /** Entities found, per type (every action except `off`). */
  readonly counts: EntityCounts = {};
  /** Entities replaced by placeholders, per type. */
  readonly masked: EntityCounts = {};
  private readonly strict = new Set<EntityType>();
  private readonly actionCache = new Map<EntityType, PrivacyMode>();

  constructor(
    private readonly detector: Detector,
    private readonly pseudonymizer: Pseudonymizer,
    readonly profile: PrivacyProfile,
    readonly tenant: string,
  ) {}

  /** Entity types whose action is `strict` and that occurred; the request must be refused when non-empty. */
  get strictTypes(): EntityType[] {
    return [...this.strict].sort();
  }

  get total(): number {
    let n = 0;
    for (const v of Object.values(this.counts)) n += v ?? 0;
    return n;
  }

  /** Detects and masks one text synchronously (no external recogniser). */
  process(text: string): string {
    if (text.length === 0) return text;
    return this.apply(text, this.detector.detect(text));
  }

  /** Like {@link process}, including the external recogniser when the detector has one. */
  async processAsync(text: string): Promise<string> {
    if (text.length === 0) return text;
    return this.apply(text, await this.detector.detectAsync(text));
  }

  /** A restorer for answers to this request. */
  restorer(options?: RestoreOptions): Restorer {
    return new Restorer(this.mapping, options);
  }

  private action(type: EntityType): PrivacyMode {
    let action = this.actionCache.get(type);
    if (action === undefined) {
      action = actionFor(this.profile, type);
      this.actionCache.set(type, action);
    }
    return action;
  }

  private apply(text: string, entities: readonly Entity[]): string {
    if (entities.length === 0) return text;
    const toMask: Entity[] = [];
    for (const e of entities) {
      const action = this.action(e.type);
      if (action === 'off') continue;
      this.counts[e.type] = (this.counts[e.type] ?? 0) + 1;
      if (action === 'strict') this.strict.add(e.type);
      else if (action === 'mask') {
        toMask.push(e);
        this.masked[e.type] = (this.masked[e.type] ?? 0) + 1;
      }
    }
    return this.pseudonymizer.mask(this.tenant, text, toMask, this.mapping);
  }
}
