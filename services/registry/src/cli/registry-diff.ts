import type { RegistryAgent, RoleProfile } from '@orgmesh/contracts';
import { canonicalJson } from '../canonical-json.js';
import { compare } from '../loader/problem.js';
import type { RegistryModel } from '../model/registry.model.js';

/** What the registry service holds now, as the gateway lists it (null version: nothing loaded yet). */
export interface HeldRegistry {
  readonly version: number | null;
  readonly agents: readonly RegistryAgent[];
  readonly profiles: readonly RoleProfile[];
}

export interface EntityDiff {
  readonly added: readonly string[];
  /** Each changed entity with the (camelCase) fields that differ. */
  readonly changed: ReadonlyArray<{ id: string; fields: string[] }>;
  readonly removed: readonly string[];
  readonly unchanged: number;
}

export interface RegistryLoadDiff {
  readonly agents: EntityDiff;
  readonly profiles: EntityDiff;
}

/** The preview `orgmesh registry load` shows: agents and profiles added, changed (which fields), removed. */
export function diffRegistry(next: RegistryModel, held: HeldRegistry): RegistryLoadDiff {
  return {
    agents: diffEntities(next.agents, held.agents),
    profiles: diffEntities(next.profiles, held.profiles),
  };
}

export function isEmptyDiff(diff: RegistryLoadDiff): boolean {
  return [diff.agents, diff.profiles].every(
    (d) => d.added.length === 0 && d.changed.length === 0 && d.removed.length === 0,
  );
}

function diffEntities<T extends { id: string }>(next: readonly T[], held: readonly T[]): EntityDiff {
  const before = new Map(held.map((entity) => [entity.id, entity]));
  const nextIds = new Set(next.map((entity) => entity.id));
  const added: string[] = [];
  const changed: Array<{ id: string; fields: string[] }> = [];
  let unchanged = 0;
  for (const entity of next) {
    const old = before.get(entity.id);
    if (!old) {
      added.push(entity.id);
      continue;
    }
    const keys = new Set([...Object.keys(entity), ...Object.keys(old)]);
    const fields = [...keys]
      .filter(
        (key) =>
          canonicalJson((entity as Record<string, unknown>)[key] ?? null) !==
          canonicalJson((old as Record<string, unknown>)[key] ?? null),
      )
      .sort(compare);
    if (fields.length) changed.push({ id: entity.id, fields });
    else unchanged++;
  }
  const removed = held.filter((entity) => !nextIds.has(entity.id)).map((entity) => entity.id);
  return { added: added.sort(compare), changed, removed: removed.sort(compare), unchanged };
}

/** The preview as lines: a summary per kind, then `+ id`, `~ id: fields`, `- id`. */
export function formatDiff(diff: RegistryLoadDiff): string[] {
  const lines: string[] = [];
  for (const [kind, d] of [
    ['agents', diff.agents],
    ['profiles', diff.profiles],
  ] as const) {
    lines.push(
      `${kind}: ${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed, ${d.unchanged} unchanged`,
    );
    for (const id of d.added) lines.push(`  + ${id}`);
    for (const { id, fields } of d.changed) lines.push(`  ~ ${id}: ${fields.join(', ')}`);
    for (const id of d.removed) lines.push(`  - ${id}`);
  }
  return lines;
}
