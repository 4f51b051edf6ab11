import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configHash, ImportOrg, POLICY_KINDS, ResolvePolicy, type PolicyKind } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
// The registry's domain is measured in process, and its service is started in process so the bench
// needs no process-spawning harness.
import {
  formatsFor,
  generateOrgChart,
  readRegistryDir,
  renderAgentConfig,
  validateOrgChart,
  validateRegistry,
  type RenderEndpoints,
  loadRegistryConfig,
  startRegistryApp,
  type RegistryApp,
} from '@orgmesh/registry/testing';
import { benchNamespace, benchEnv, progress, round, runScenario, type BenchResult } from './harness.js';

/**
 * Registry benchmarks (issue 4 targets, on the demo registry: 26 agents, the reference system's size):
 *   - load + validate + render every agent's config ≤ 50 ms (baseline: reading and parsing the same YAML);
 *   - resolve-policy p99 ≤ 1 ms from the service's cache (baseline: a Map lookup), and over NATS
 *     (baseline: the same contract answered by a responder that does nothing);
 *   - importing a 10,000-person org chart into Postgres through the service ≤ 2 s (baseline: validating
 *     the same CSV in process, i.e. everything but the transport and the transaction).
 * The service, its client and the baselines share this one process.
 */

/** The demo registry. Same depth from bench/src and bench/dist. */
const DEMO_REGISTRY = fileURLToPath(new URL('../../deploy/registry', import.meta.url));
const ENDPOINTS: RenderEndpoints = {
  privacyProxyUrl: 'http://127.0.0.1:8090',
  gatewayUrl: 'http://127.0.0.1:8080',
  mcpCommand: 'orgmesh-mcp',
};
const POLICY_QUERIES = 100_000;
const IMPORTS = 5;

/** Reads, validates and renders every agent in every client format it supports, hashing each config. */
async function loadValidateRenderAll(): Promise<number> {
  const { files } = await readRegistryDir(DEMO_REGISTRY);
  const result = validateRegistry(files);
  if (!result.ok) throw new Error(`demo registry invalid: ${result.problems.length} problems`);
  let rendered = 0;
  for (const agent of result.model.agents) {
    for (const format of formatsFor(agent)) {
      configHash(renderAgentConfig(result.model, agent.id, format, ENDPOINTS));
      rendered++;
    }
  }
  return rendered;
}

/** Baseline: reading (concurrently, as the loader does) and parsing the same YAML files, nothing else. */
async function readAndParseOnly(): Promise<void> {
  const dirs = ['', 'agents', 'profiles'].map((sub) => join(DEMO_REGISTRY, sub));
  const paths = (
    await Promise.all(
      dirs.map(async (dir) =>
        (await readdir(dir)).filter((n) => n.endsWith('.yaml')).map((n) => join(dir, n)),
      ),
    )
  ).flat();
  for (const content of await Promise.all(paths.map((path) => readFile(path, 'utf8')))) parseYaml(content);
}

/** A result from individually timed samples (nanoseconds), for operations below the histogram's 1 µs floor. */
function fromSamples(
  name: string,
  samplesNs: number[],
  totalMs: number,
  extra: Omit<Partial<BenchResult>, 'name'> = {},
): BenchResult {
  const sorted = [...samplesNs].sort((a, b) => a - b);
  const at = (p: number) =>
    (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ??
      Number.NaN) / 1e6;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length / 1e6;
  const result: BenchResult = {
    name,
    concurrency: 1,
    ops: sorted.length,
    errors: 0,
    durationMs: round(totalMs),
    throughput: round((sorted.length / totalMs) * 1000),
    latencyMs: {
      mean: round(mean, 6),
      p50: round(at(50), 6),
      p95: round(at(95), 6),
      p99: round(at(99), 6),
      max: round(at(100), 6),
    },
    peakRssMb: round(process.memoryUsage.rss() / 1_048_576, 1),
    ...extra,
  };
  progress(`    ✓ ${name}: p50 ${result.latencyMs.p50 * 1000} µs, p99 ${result.latencyMs.p99 * 1000} µs`);
  return result;
}

function timeEach(
  queries: ReadonlyArray<{ from: string; to: string; kind: PolicyKind }>,
  fn: (q: { from: string; to: string; kind: PolicyKind }) => unknown,
): { samples: number[]; totalMs: number } {
  const samples: number[] = new Array(queries.length);
  const started = performance.now();
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i]!;
    const t0 = process.hrtime.bigint();
    fn(q);
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  return { samples, totalMs: performance.now() - started };
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];

  // ---------------------------------------------------------------- load + validate + render (domain)
  progress('  load + validate + render the demo registry (26 agents), in process');
  const cold = performance.now();
  const renderedConfigs = await loadValidateRenderAll();
  const coldMs = performance.now() - cold;
  for (let i = 0; i < 5; i++) await loadValidateRenderAll();
  results.push(
    await runScenario({
      name: 'baseline.registry.read-parse-yaml',
      count: 50,
      warmupMs: 0,
      op: readAndParseOnly,
      notes: 'read and parse the same YAML files, nothing else',
    }),
  );
  results.push(
    await runScenario({
      name: 'registry.load-validate-render-26',
      baseline: 'baseline.registry.read-parse-yaml',
      count: 50,
      warmupMs: 0,
      op: loadValidateRenderAll,
      notes: `read + validate + render and hash every agent's config (${renderedConfigs} configs); target ≤ 50 ms`,
      extra: { renderedConfigs, coldMs: round(coldMs, 2) },
    }),
  );

  // ---------------------------------------------------------------- the service, in process
  const env = benchEnv();
  const ns = await benchNamespace('br');
  const { token, subjectPrefix: prefix, nameSuffix: suffix, databaseUrl: dbUrl } = ns;
  const logger = createLogger({ service: 'bench-registry', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const cleanups: Array<() => Promise<unknown>> = [];
  cleanups.push(() => ns.dispose());
  try {
    progress('  registry service (Postgres + NATS), loading the demo registry');
    const app: RegistryApp = await startRegistryApp(
      loadRegistryConfig({
        NATS_URL: env.natsUrl,
        DATABASE_URL: dbUrl,
        REGISTRY_HTTP_PORT: '0',
        NATS_SUBJECT_PREFIX: prefix,
        NATS_NAME_SUFFIX: suffix,
        LOG_LEVEL: 'warn',
        REGISTRY_DIR: DEMO_REGISTRY,
        REGISTRY_AUTH: 'off',
      }),
      { logger, migrate: true, startJobs: false },
    );
    cleanups.push(() => app.close());
    const bus: MessageBus = await connectBus({
      url: env.natsUrl,
      name: 'bench-registry-client',
      subjectPrefix: prefix,
      nameSuffix: suffix,
      logger,
    });
    cleanups.push(() => bus.close());

    // ------------------------------------------------------------ resolve-policy
    const model = app.service.current?.model;
    if (!model) throw new Error('registry service has no version');
    const parties = [...model.agents.map((a) => a.id), ...model.roles.map((r) => r.id)];
    const queries = Array.from({ length: POLICY_QUERIES }, (_, i) => ({
      from: parties[(i * 7) % parties.length] ?? 'finance',
      to: parties[(i * 13 + 5) % parties.length] ?? 'manager',
      kind: POLICY_KINDS[i % POLICY_KINDS.length] ?? 'task',
    }));
    let allowed = 0;
    for (const q of queries.slice(0, 10_000))
      if (app.service.resolvePolicy(q.from, q.to, q.kind).allowed) allowed++;
    const baselineMap = new Map(queries.map((q) => [`${q.from} ${q.to} ${q.kind}`, true]));
    const mapRun = timeEach(queries, (q) => baselineMap.get(`${q.from} ${q.to} ${q.kind}`));
    results.push(
      fromSamples('baseline.map-get', mapRun.samples, mapRun.totalMs, { notes: 'Map.get of the same keys' }),
    );
    const cacheRun = timeEach(queries, (q) => app.service.resolvePolicy(q.from, q.to, q.kind));
    results.push(
      fromSamples('registry.resolve-policy.cache', cacheRun.samples, cacheRun.totalMs, {
        baseline: 'baseline.map-get',
        notes:
          "the service's resolvePolicy on its in-memory version (what the RPC handler calls); target p99 ≤ 1 ms",
        extra: { allowedShare: round(allowed / 10_000, 3) },
      }),
    );
    // The same contract answered by a responder that does no work: NATS + JSON + schema validation only.
    const echo = await connectBus({
      url: env.natsUrl,
      name: 'bench-echo',
      subjectPrefix: `${token}e.`,
      logger,
    });
    cleanups.push(() => echo.close());
    echo.serve(ResolvePolicy, async (r) => ({
      allowed: true,
      rule: 'bench',
      fromRole: r.from,
      toRole: r.to,
      version: 1,
    }));
    const echoClient = await connectBus({
      url: env.natsUrl,
      name: 'bench-echo-client',
      subjectPrefix: `${token}e.`,
      logger,
    });
    cleanups.push(() => echoClient.close());
    await echo.nc.flush();
    const pick = (i: number) =>
      queries[i % queries.length] ?? { from: 'finance', to: 'manager', kind: 'approval' as const };
    results.push(
      await runScenario({
        name: 'baseline.nats-rpc-noop',
        durationMs: 3_000,
        op: (_w, i) => echoClient.request(ResolvePolicy, pick(i)),
        notes: 'rpc.registry.v1.resolve-policy answered by a responder doing nothing (same process)',
      }),
    );
    results.push(
      await runScenario({
        name: 'registry.resolve-policy.nats',
        baseline: 'baseline.nats-rpc-noop',
        durationMs: 3_000,
        op: (_w, i) => bus.request(ResolvePolicy, pick(i)),
        notes: 'rpc.registry.v1.resolve-policy through the registry service, one caller back to back',
      }),
    );

    // ------------------------------------------------------------ 10,000-person org chart
    const csv = generateOrgChart({ size: 10_000, seed: 1 });
    const roles = new Set(model.roles.map((r) => r.id));
    progress(`  org chart: 10,000 people, ${(Buffer.byteLength(csv) / 1024).toFixed(0)} KiB of CSV`);
    results.push(
      await runScenario({
        name: 'baseline.org-chart-10k.validate',
        count: IMPORTS,
        warmupMs: 0,
        op: async () => {
          if (!validateOrgChart(csv, { knownRoles: roles }).ok)
            throw new Error('generated org chart invalid');
        },
        notes: 'parse and validate the CSV in process: everything but NATS and Postgres',
      }),
    );
    await bus.request(ImportOrg, { csv }, { timeoutMs: 60_000 });
    const imported = await runScenario({
      name: 'registry.import-org-10k',
      baseline: 'baseline.org-chart-10k.validate',
      count: IMPORTS,
      warmupMs: 0,
      op: async () => {
        const result = await bus.request(ImportOrg, { csv, fileName: 'org-10k.csv' }, { timeoutMs: 60_000 });
        if (result.users !== 10_000) throw new Error(`imported ${result.users} users`);
      },
      notes:
        'rpc.registry.v1.import-org: validate, replace 10,000 users in one transaction, outbox event; target ≤ 2 s',
    });
    results.push(imported);
    const { rows } = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM registry.org_users`);
    if (rows[0]?.n !== 10_000) throw new Error(`org_users holds ${rows[0]?.n} rows after the import`);
  } finally {
    for (const step of cleanups.reverse())
      await step().catch((error: unknown) => progress(`  cleanup: ${String(error)}`));
  }
  return results;
}
