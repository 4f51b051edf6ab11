// `npm run chaos [-- --tasks N --agents M --seconds S --json FILE --nats-cluster]`: the suite as real processes with
// replicas, its own NATS and Postgres, a bounded load, and the faults of issue #21 during it. Prints
// one table; exits 1 when anything acknowledged was lost, handled twice, a session history is not an
// FSM path, or a fault did not recover.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderTable } from './report.js';
import { runChaos } from './run.js';

const USAGE = `usage: npm run chaos [-- options]

Starts the suite as real processes (two replicas each of sessions, mesh-router and registry, two
gateways, the reference agents) on its own nats-server and Postgres, drives a bounded load through
the gateway and the SDK, and during it kills, restarts and freezes services, NATS and Postgres on a
printed schedule. The bus is secured as npm start's and the production overlay's: every process
connects with its own NKey, and anonymous clients are refused. Prints one table; exits 1 when anything acknowledged was lost or handled twice, a
session history is not an FSM path, or a fault did not recover (docs/operations.md).

  --tasks N        creates to drive (default 2000, at least 30)
  --agents M       agents that create and handle them (default 16, at least 3)
  --seconds S      how long the load runs (default: tasks / 12, at least 120)
  --json FILE      also write the whole result as JSON
  --nats-cluster   NATS as a 3-node JetStream cluster (streams at 3 replicas); kills a node, then
                   the node leading MESH_INBOX, instead of restarting NATS
  --help           this text`;

/** Exits 2 with the usage when the command line is off, naming what is wrong. */
function usageError(message: string): never {
  process.stderr.write(`chaos: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const parse = () =>
  parseArgs({
    options: {
      tasks: { type: 'string', default: '2000' },
      agents: { type: 'string', default: '16' },
      seconds: { type: 'string' },
      json: { type: 'string' },
      'nats-cluster': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
let parsed: ReturnType<typeof parse>;
try {
  parsed = parse();
} catch (error) {
  usageError(error instanceof Error ? error.message : String(error));
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const tasks = Number(values.tasks);
const agents = Number(values.agents);
if (!Number.isInteger(tasks) || tasks < 30) usageError('--tasks: an integer ≥ 30');
if (!Number.isInteger(agents) || agents < 3) usageError('--agents: an integer ≥ 3');
// Default span: ~12 creates/s, never under 2 minutes, so every fault lands while the load runs.
const loadSeconds = values.seconds ? Number(values.seconds) : Math.max(120, Math.ceil(tasks / 12));
if (!(loadSeconds > 0)) usageError('--seconds: a positive number');

const { result, logDir } = await runChaos({ root, tasks, agents, loadSeconds, natsCluster: values['nats-cluster'] });
process.stdout.write(`\n${renderTable(result)}\n`);
for (const lost of result.lost.slice(0, 20))
  process.stdout.write(`lost: ${lost.kind} ${lost.id} via ${lost.via} (key ${lost.key}) state ${lost.state ?? 'absent'}\n`);
for (const dup of result.duplicates.slice(0, 20))
  process.stdout.write(`duplicate: item ${dup.item} handled by ${dup.handledBy.join(', ')}\n`);
for (const twice of result.createdTwice.slice(0, 20))
  process.stdout.write(`created twice: item ${twice.item} as tasks ${twice.ids.join(', ')}\n`);
for (const bad of result.invalidHistories.slice(0, 20))
  process.stdout.write(`invalid session history: ${bad.sessionId}: ${bad.reason}\n`);
for (const refused of result.refused.slice(0, 10)) process.stdout.write(`refused: ${refused.key}: ${refused.reason}\n`);
if (!result.ok) process.stdout.write(`logs: ${logDir}\n`);
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
process.exit(result.ok ? 0 : 1);
