import pg from 'pg';
import { TERMINAL_TASK_STATES } from '@orgmesh/contracts';
import type { Acknowledged, ChaosLoad } from './load.js';
import type { PoisonOutcome } from './poison.js';

/**
 * The sessions FSM as ARCHITECTURE §3 writes it (services/sessions/src/session/session.fsm.ts holds
 * the implementation): event → state it applies in → state it moves to. Written out here again so
 * the check does not trust the code it checks; no-ops are never recorded as transitions.
 */
const SESSION_MOVES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  activate: { pending: 'active' },
  pause: { active: 'paused' },
  resume: { paused: 'active' },
  complete: { active: 'completed' },
  fail: { pending: 'failed', active: 'failed', paused: 'failed' },
  expire: { pending: 'expired', active: 'expired', paused: 'expired' },
};

export interface Transition {
  from: string;
  to: string;
  event: string;
}

/** Why a session's recorded history is not a path through the FSM from `pending` to its status, or null. */
export function invalidHistory(status: string, transitions: readonly Transition[]): string | null {
  let state = 'pending';
  for (const [n, t] of transitions.entries()) {
    if (t.from !== state) return `transition ${n + 1} starts in ${t.from}, the session was ${state}`;
    const to = SESSION_MOVES[t.event]?.[t.from];
    if (to !== t.to) return `transition ${n + 1}: ${t.event} does not move ${t.from} to ${t.to}`;
    state = t.to;
  }
  return state === status ? null : `history ends in ${state}, the session says ${status}`;
}

export interface FaultRecord {
  name: string;
  at: number;
  /** The later of the two below; null: it did not recover within the wait. */
  recoveryMs: number | null;
  /** Until a task created right after the fault completed end to end. */
  workMs: number | null;
  /** Until the process the fault hit answered its readiness probe again (null: the fault hit no one process). */
  processMs: number | null;
  /** The recovery probe's timeline from the fault: acknowledged, then each event the mesh recorded. */
  probe: string;
  underLoad: boolean;
}

export interface ChaosResult {
  acknowledged: number;
  terminal: number;
  terminalByState: Record<string, number>;
  lost: Array<Acknowledged & { state: string | null }>;
  /** Load items whose handler ran more than once (`<agent id> <task id>` per run). */
  duplicates: Array<{ item: string; handledBy: string[] }>;
  /** Load items the mesh stored as more than one task (a create applied twice). */
  createdTwice: Array<{ item: string; ids: string[] }>;
  /** Every task the database holds, and those not terminal (including creates never acknowledged). */
  tasksInDatabase: number;
  openInDatabase: number;
  sessions: number;
  invalidHistories: Array<{ sessionId: string; reason: string }>;
  notAcknowledged: number;
  redelivered: number;
  refused: Array<{ key: string; reason: string }>;
  faults: FaultRecord[];
  /** Each poison message and the dead letters its consumers wrote for it. */
  poison: PoisonOutcome[];
  /** Every NATS server refused a client without credentials at the end of the run (restarted ones included). */
  anonymousRefused: boolean;
  /** With the NATS cluster: every stream and its replica count (all must be 3). */
  natsStreams?: Array<{ name: string; replicas: number }>;
  durationMs: number;
  ok: boolean;
}

const TERMINAL = new Set<string>(TERMINAL_TASK_STATES);

/** Current states of the given task ids, straight from the mesh's table. */
export async function taskStates(databaseUrl: string, ids: readonly string[]): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; state: string }>(
      'SELECT id, state FROM mesh.tasks WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.state]));
  } finally {
    await client.end();
  }
}

/** One task's recorded events with their time (ms since the epoch), in order. */
export async function taskEvents(databaseUrl: string, id: string): Promise<Array<{ event: string; at: number }>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ event: string; occurred_at: Date }>(
      'SELECT event, occurred_at FROM mesh.task_events WHERE task_id = $1 ORDER BY seq',
      [id],
    );
    return rows.map((r) => ({ event: r.event, at: r.occurred_at.getTime() }));
  } finally {
    await client.end();
  }
}

/** Waits until every acknowledged task is terminal or nothing moved for `quietMs`; returns the last states. */
export async function settle(
  databaseUrl: string,
  load: ChaosLoad,
  quietMs: number,
  say: (line: string) => void,
): Promise<Map<string, string>> {
  let lastOpen = Number.POSITIVE_INFINITY;
  let lastProgress = Date.now();
  for (;;) {
    const ids = [...load.acknowledged.keys()];
    let states: Map<string, string>;
    try {
      states = await taskStates(databaseUrl, ids);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      continue;
    }
    const open = ids.filter((id) => !TERMINAL.has(states.get(id) ?? '')).length;
    if (open === 0) return states;
    if (open < lastOpen) {
      lastOpen = open;
      lastProgress = Date.now();
    } else if (Date.now() - lastProgress > quietMs) {
      say(`settle: ${open} acknowledged tasks still open after ${quietMs / 1000} s without progress`);
      return states;
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

export interface DatabaseTasks {
  total: number;
  open: number;
  createdTwice: Array<{ item: string; ids: string[] }>;
}

/** The mesh's table as a whole: the run has its own database, so every row is the run's. */
export async function checkTasks(databaseUrl: string): Promise<DatabaseTasks> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const totals = await client.query<{ total: string; open: string }>(
      'SELECT count(*) AS total, count(*) FILTER (WHERE NOT (state = ANY($1::text[]))) AS open FROM mesh.tasks',
      [[...TERMINAL]],
    );
    // The item key travels in the input (tasks), the details (approvals) or the message (notifications): see itemKey.
    const twice = await client.query<{ item: string; ids: string[] }>(
      `SELECT item, array_agg(id::text ORDER BY created_at) AS ids FROM (
         SELECT id, created_at, coalesce(input->>'key', details->>'key',
                CASE WHEN message LIKE 'chaos notification %' THEN substr(message, 20) END) AS item
           FROM mesh.tasks) t
        WHERE item IS NOT NULL GROUP BY item HAVING count(*) > 1`,
    );
    return {
      total: Number(totals.rows[0]?.total ?? 0),
      open: Number(totals.rows[0]?.open ?? 0),
      createdTwice: twice.rows,
    };
  } finally {
    await client.end();
  }
}

export async function checkSessions(databaseUrl: string): Promise<{ sessions: number; invalid: Array<{ sessionId: string; reason: string }> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; status: string; transitions: Transition[] | null }>(
      `SELECT s.id, s.status,
              json_agg(json_build_object('from', t.from_state, 'to', t.to_state, 'event', t.event) ORDER BY t.seq)
                FILTER (WHERE t.seq IS NOT NULL) AS transitions
         FROM sessions.sessions s LEFT JOIN sessions.session_transitions t ON t.session_id = s.id
        GROUP BY s.id, s.status`,
    );
    const invalid: Array<{ sessionId: string; reason: string }> = [];
    for (const row of rows) {
      const reason = invalidHistory(row.status, row.transitions ?? []);
      if (reason) invalid.push({ sessionId: row.id, reason });
    }
    return { sessions: rows.length, invalid };
  } finally {
    await client.end();
  }
}

export function summarize(
  load: ChaosLoad,
  states: Map<string, string>,
  sessions: { sessions: number; invalid: Array<{ sessionId: string; reason: string }> },
  tasks: DatabaseTasks,
  faults: FaultRecord[],
  poison: PoisonOutcome[],
  durationMs: number,
  nats: { anonymousRefused: boolean; streams?: Array<{ name: string; replicas: number }> },
): ChaosResult {
  const natsStreams = nats.streams;
  const acknowledged = [...load.acknowledged.values()];
  const terminalByState: Record<string, number> = {};
  const lost: ChaosResult['lost'] = [];
  for (const ack of acknowledged) {
    const state = states.get(ack.id) ?? null;
    if (state && TERMINAL.has(state)) terminalByState[state] = (terminalByState[state] ?? 0) + 1;
    else lost.push({ ...ack, state });
  }
  const duplicates = [...load.handled.entries()]
    .filter(([, by]) => by.length > 1)
    .map(([item, handledBy]) => ({ item, handledBy }));
  const terminal = acknowledged.length - lost.length;
  const recovered = faults.every((f) => f.recoveryMs !== null);
  return {
    acknowledged: acknowledged.length,
    terminal,
    terminalByState,
    lost,
    duplicates,
    createdTwice: tasks.createdTwice,
    tasksInDatabase: tasks.total,
    openInDatabase: tasks.open,
    sessions: sessions.sessions,
    invalidHistories: sessions.invalid,
    notAcknowledged: load.notAcknowledged.length,
    redelivered: load.redelivered,
    refused: load.refused.map(({ key, reason }) => ({ key, reason })),
    faults,
    poison,
    anonymousRefused: nats.anonymousRefused,
    ...(natsStreams ? { natsStreams } : {}),
    durationMs,
    ok:
      lost.length === 0 &&
      duplicates.length === 0 &&
      tasks.createdTwice.length === 0 &&
      sessions.invalid.length === 0 &&
      recovered &&
      poison.every(deadLetteredAsExpected) &&
      nats.anonymousRefused &&
      (natsStreams ?? []).every((stream) => stream.replicas === 3) &&
      load.refused.length === 0,
  };
}

/** At least one dead letter, and every one of them with the reason the poison deserves. */
function deadLetteredAsExpected(p: PoisonOutcome): boolean {
  return p.deadLetters.length > 0 && p.deadLetters.every((d) => d.reason === p.expectedReason);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** `work flows after 1.2 s, process ready after 20.3 s`. */
export function describeRecovery(f: Pick<FaultRecord, 'workMs' | 'processMs'>): string {
  const work = `work flows after ${f.workMs === null ? 'never' : seconds(f.workMs)}`;
  return f.processMs === null ? work : `${work}, process ready after ${seconds(f.processMs)}`;
}

export function renderTable(result: ChaosResult): string {
  const rows: Array<[string, string]> = [
    ['acknowledged (tasks, approvals, notifications)', String(result.acknowledged)],
    [
      'reached a terminal state',
      `${result.terminal} (${Object.entries(result.terminalByState)
        .map(([state, n]) => `${state} ${n}`)
        .join(', ')})`,
    ],
    ['LOST (acknowledged, never terminal)', String(result.lost.length)],
    ['DUPLICATE side effects (handled twice)', String(result.duplicates.length)],
    ['DUPLICATE creates (one request stored as two tasks)', String(result.createdTwice.length)],
    ['tasks in the database (open: never acknowledged ones)', `${result.tasksInDatabase} (open ${result.openInDatabase})`],
    ['sessions checked', String(result.sessions)],
    ['INVALID session histories (not an FSM path)', String(result.invalidHistories.length)],
    ['handled on a redelivery (first delivery unacknowledged)', String(result.redelivered)],
    ['creates never acknowledged (gave up retrying)', String(result.notAcknowledged)],
    ['creates refused (4xx: a defect of the load)', String(result.refused.length)],
    ...result.faults.map(
      (f): [string, string] => [
        `recovery after: ${f.name}`,
        `${f.recoveryMs === null ? 'NOT RECOVERED' : `${seconds(f.recoveryMs)} (${describeRecovery(f)})`}${f.underLoad ? '' : ' (load had ended)'}`,
      ],
    ),
    ...result.poison.map(
      (p): [string, string] => [
        `poison: ${p.name}`,
        p.deadLetters.length
          ? `${deadLetteredAsExpected(p) ? '' : 'WRONG REASON: '}dead-lettered by ${p.deadLetters.map((d) => `${d.consumer} (${d.reason})`).join(', ')}`
          : 'NOT DEAD-LETTERED',
      ],
    ),
    ['NATS secured (every server refuses a client without an NKey)', result.anonymousRefused ? 'yes' : 'NO'],
    ...(result.natsStreams
      ? [
          [
            'NATS streams (replicas; all must be 3)',
            result.natsStreams.map((st) => `${st.name} ${st.replicas}`).join(', '),
          ] as [string, string],
        ]
      : []),
    ['run duration', `${(result.durationMs / 1000).toFixed(0)} s`],
    ['verdict', result.ok ? 'PASS' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = `+${'-'.repeat(width + 2)}+${'-'.repeat(Math.max(...rows.map(([, v]) => v.length)) + 2)}+`;
  return [line, ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v.padEnd(line.length - width - 7)} |`), line].join('\n');
}
