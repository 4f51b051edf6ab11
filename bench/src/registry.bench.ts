import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { POLICY_KINDS } from '@orgmesh/contracts';
// The registry's domain is pure and has no NATS surface to measure it through: the bench calls it in process.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  configHash,
  formatsFor,
  generateOrgChart,
  readRegistryDir,
  renderAgentConfig,
  resolvePolicy,
  validateOrgChart,
  validateRegistry,
  type RenderEndpoints,
} from '@orgmesh/registry';

/** The demo registry: 26 agents, the reference system's size. Same depth from bench/src and bench/dist. */
const DEMO_REGISTRY = fileURLToPath(new URL('../../deploy/registry', import.meta.url));
const ENDPOINTS: RenderEndpoints = {
  privacyProxyUrl: 'http://127.0.0.1:8090',
  gatewayUrl: 'http://127.0.0.1:8080',
  mcpCommand: 'orgmesh-mcp',
};

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function timeMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function series(iterations: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) samples.push(await timeMs(fn));
  return samples.sort((a, b) => a - b);
}

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

/**
 * Registry benchmarks (issue 4 targets): load + validate + render all 26 agents ≤ 50 ms; resolve-policy
 * p99 ≤ 1 ms from cache; a 10,000-person org chart validated (the Postgres import itself is measured by
 * the service's bench once it is wired). Each figure has its baseline, measured in the same run.
 */
export async function run(): Promise<Record<string, number>> {
  // Load + validate + render.
  const cold = await timeMs(loadValidateRenderAll);
  for (let i = 0; i < 5; i++) await loadValidateRenderAll();
  const load = await series(50, loadValidateRenderAll);
  const parseOnly = await series(50, readAndParseOnly);
  const renderedConfigs = await loadValidateRenderAll();

  // resolve-policy from the precomputed index.
  const { files } = await readRegistryDir(DEMO_REGISTRY);
  const validated = validateRegistry(files);
  if (!validated.ok) throw new Error('demo registry invalid');
  const model = validated.model;
  const parties = [...model.agents.map((a) => a.id), ...model.roles.map((r) => r.id)];
  const queries = Array.from({ length: 100_000 }, (_, i) => ({
    from: parties[(i * 7) % parties.length] ?? 'finance',
    to: parties[(i * 13 + 5) % parties.length] ?? 'manager',
    kind: POLICY_KINDS[i % POLICY_KINDS.length] ?? 'task',
  }));
  resolvePolicy(model, 'finance-agent', 'manager-agent', 'approval');
  for (const q of queries.slice(0, 10_000)) resolvePolicy(model, q.from, q.to, q.kind);
  const policyNs: number[] = [];
  let allowed = 0;
  for (const q of queries) {
    const started = process.hrtime.bigint();
    const decision = resolvePolicy(model, q.from, q.to, q.kind);
    policyNs.push(Number(process.hrtime.bigint() - started));
    if (decision.allowed) allowed++;
  }
  policyNs.sort((a, b) => a - b);
  const baselineMap = new Map(queries.map((q) => [`${q.from} ${q.to} ${q.kind}`, true]));
  const mapNs: number[] = [];
  for (const q of queries) {
    const started = process.hrtime.bigint();
    baselineMap.get(`${q.from} ${q.to} ${q.kind}`);
    mapNs.push(Number(process.hrtime.bigint() - started));
  }
  mapNs.sort((a, b) => a - b);
  const policyThroughput =
    100_000 /
    ((await timeMs(() => queries.forEach((q) => resolvePolicy(model, q.from, q.to, q.kind)))) / 1000);

  // 10,000-person org chart.
  const roles = new Set(model.roles.map((r) => r.id));
  const csv = generateOrgChart({ size: 10_000, seed: 1 });
  const orgCheck = validateOrgChart(csv, { knownRoles: roles });
  if (!orgCheck.ok) throw new Error('generated org chart invalid');
  const org = await series(10, () => validateOrgChart(csv, { knownRoles: roles }));
  const csvOnly = await series(10, () => csv.split('\n').map((line) => line.split(',')));

  const p50Load = percentile(load, 50);
  return {
    registry_agents: model.agents.length,
    registry_rendered_configs: renderedConfigs,
    registry_load_validate_render_cold_ms: cold,
    registry_load_validate_render_p50_ms: p50Load,
    registry_load_validate_render_p99_ms: percentile(load, 99),
    registry_load_baseline_read_parse_p50_ms: percentile(parseOnly, 50),
    registry_load_ratio_to_baseline: p50Load / percentile(parseOnly, 50),
    registry_resolve_policy_p50_us: percentile(policyNs, 50) / 1000,
    registry_resolve_policy_p99_us: percentile(policyNs, 99) / 1000,
    registry_resolve_policy_per_s: policyThroughput,
    registry_resolve_policy_allowed_share: allowed / queries.length,
    registry_resolve_policy_baseline_map_get_p99_us: percentile(mapNs, 99) / 1000,
    registry_org_chart_10k_validate_p50_ms: percentile(org, 50),
    registry_org_chart_10k_validate_max_ms: org.at(-1) ?? Number.NaN,
    registry_org_chart_10k_baseline_split_p50_ms: percentile(csvOnly, 50),
  };
}
