import type { EventDefinition, RpcDefinition } from './define.js';
import { allContracts, streamNameFor } from './define.js';
import { CONTEXT_OWNERS, eventAccess, rpcAccess, type BusRole } from './access.js';
import * as contracts from './index.js';

/**
 * The bus surface as a Markdown table, computed from the contracts and their access table, so the
 * table in docs/architecture.md is never written by hand: `architecture-doc.spec.ts` fails when the
 * doc's copy differs, and `write-subject-table.ts` rewrites it.
 */

/** The doc's generated table sits between these two lines. */
export const SUBJECT_TABLE_BEGIN =
  '<!-- subject-table:begin (generated from libs/contracts; do not edit by hand) -->';
export const SUBJECT_TABLE_END = '<!-- subject-table:end -->';

type Contract = EventDefinition | RpcDefinition;

// The exported name of each definition (`SendTask`), so a reader can grep for it.
function exportNameOf(def: Contract): string {
  for (const [name, value] of Object.entries(contracts)) if (value === def) return name;
  throw new Error(`contract ${def.subject} is not exported from libs/contracts`);
}

function ownerOf(def: Contract): string {
  const owner = CONTEXT_OWNERS[def.context];
  if (!owner) throw new Error(`context "${def.context}" of ${def.subject} has no owner in CONTEXT_OWNERS`);
  return owner;
}

function list(roles: readonly BusRole[] | undefined): string {
  return roles && roles.length > 0 ? roles.join(', ') : '—';
}

function rpcRow(def: RpcDefinition): string {
  const access = rpcAccess(def.subject);
  return `| \`${def.subject}\` | RPC | \`${exportNameOf(def)}\` | ${ownerOf(def)} serves | callers: ${list(access?.callers)} | — |`;
}

function eventRow(def: EventDefinition): string {
  const access = eventAccess(def.subject);
  const subjects = access?.publishedOn
    ? access.publishedOn.map((s) => `\`${s}\``).join(', ')
    : `\`${def.subject}\``;
  const readers = [
    access?.streamConsumers?.length ? `stream: ${list(access.streamConsumers)}` : '',
    access?.coreSubscribers?.length ? `core: ${list(access.coreSubscribers)}` : '',
    access?.perSender?.subscribers.length
      ? `core, each its own copy on \`${access.perSender.subject}.<agentId>\`: ${list(access.perSender.subscribers)}`
      : '',
    access?.deadLetterConsumers?.length ? `dead letters: ${list(access.deadLetterConsumers)}` : '',
  ].filter((part) => part !== '');
  const stream = streamNameFor(access?.stream ?? def.context);
  const subjectCell = access?.publishedOn ? `\`${def.subject}\` (on ${subjects})` : subjects;
  return `| ${subjectCell} | event | \`${exportNameOf(def)}\` | ${ownerOf(def)} publishes | ${readers.length > 0 ? readers.join('; ') : 'none on the bus'} | \`${stream}\` |`;
}

/** Every contract subject, RPCs then events, each group by context and subject. */
export function subjectTable(): string {
  const all = [...allContracts()];
  const byContextThenSubject = (a: Contract, b: Contract): number =>
    a.context === b.context ? a.subject.localeCompare(b.subject) : a.context.localeCompare(b.context);
  const rpcs = all.filter((c): c is RpcDefinition => c.kind === 'rpc').sort(byContextThenSubject);
  const events = all.filter((c): c is EventDefinition => c.kind === 'event').sort(byContextThenSubject);
  return [
    '| subject | kind | contract | owner | who else (from `access.ts`) | stream |',
    '|---|---|---|---|---|---|',
    ...rpcs.map(rpcRow),
    ...events.map(eventRow),
  ].join('\n');
}

/** The doc with its generated table replaced by `table`; throws when the markers are missing. */
export function withSubjectTable(doc: string, table: string): string {
  const begin = doc.indexOf(SUBJECT_TABLE_BEGIN);
  const end = doc.indexOf(SUBJECT_TABLE_END);
  if (begin < 0 || end < begin) throw new Error('the subject-table markers are missing or out of order');
  return `${doc.slice(0, begin + SUBJECT_TABLE_BEGIN.length)}\n${table}\n${doc.slice(end)}`;
}
