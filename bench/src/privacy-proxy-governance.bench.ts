import { LocalIssuer } from '@orgmesh/auth';
import type { LlmGovernance } from '@orgmesh/contracts';
import { runMigrations } from '@orgmesh/migrations';
import pg from 'pg';
import { complete, firstToken, freshBodies, proxyCalls } from './privacy-proxy.bench.js';
import { settleProxies } from './proxy-settle.js';
import { proxyRole, startChild, type BenchChild } from './privacy-proxy.child.js';
import {
  benchNamespace,
  LatencyHistogram,
  progress,
  round,
  runComparison,
  type BenchResult,
} from './harness.js';

/**
 * LLM governance at the privacy proxy (issue 24): what usage accounting, budgets and rate limits add
 * to a masked call. Three processes serve the same scripted upstream: the upstream itself (direct
 * baseline), the proxy without governance, and the proxy with it — usage aggregated into Postgres,
 * the budget and rate-limit counters in Postgres (schema migrated into this run's own database), an
 * agent and a role budget (tokens and cost) and a per-agent rate limit on the caller's profile, set
 * high enough never to refuse. All three are measured in interleaved rounds of the same run, JSON (the
 * 4 KB / 11-entity prompt of the privacy-proxy suite) and streaming (time to first token). Short on
 * purpose (~55 s): the machine is shared. Then 16 clients at once for the saturation throughput.
 */

const GOVERNANCE: LlmGovernance = {
  budgets: [
    { name: 'agent-daily-tokens', per: 'agent', tokens: 1e12, window: 'day', reset: 'calendar' },
    { name: 'role-monthly-cost', per: 'role', costUsd: 1e9, window: 'month', reset: 'rolling' },
  ],
  rateLimits: [{ per: 'agent', requestsPerMinute: 1e9, tokensPerMinute: 1e12 }],
};

export async function run(): Promise<BenchResult[]> {
  const ns = await benchNamespace('proxygov');
  await runMigrations({ url: ns.databaseUrl, service: 'privacy-proxy' });
  const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:bench', audience: 'orgmesh' });
  const token = await issuer.sign({ sub: 'finance-agent', role: 'finance', tenant: 'acme' });
  const directory = [{ name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' }];
  const profile = { mode: 'mask' as const, employeeIdPattern: 'EMP-\\d{5}' };
  const children: BenchChild[] = [];
  try {
    const upstream = await startChild({ kind: 'upstream' });
    children.push(upstream);
    const role = proxyRole(upstream.url, issuer, { finance: profile }, directory);
    const plain = await startChild(role);
    children.push(plain);
    // Every governed replica shares the one database: its counters and usage rows.
    const governedRole = { ...role, governance: { databaseUrl: ns.databaseUrl, llm: GOVERNANCE } };
    const governed = await startChild(governedRole);
    children.push(governed);

    // A new prompt per request (freshPrompt): the proxy remembers detections of texts it has seen.
    const bodies = freshBodies('gpt-4o-mini');
    const { json: jsonBody, stream: streamBody } = bodies;
    const settleCalls = proxyCalls(token, bodies);
    // Proxies in service, not fresh processes (proxy-settle.ts says why).
    const settled = await settleProxies(
      [
        { label: 'privacy-proxy-governance: proxy without governance', child: plain },
        { label: 'privacy-proxy-governance: proxy with governance', child: governed },
      ],
      settleCalls,
    );

    const DIRECT = 'privacy-proxy-governance: direct upstream, 4 KB prompt (JSON)';
    const PLAIN = 'privacy-proxy-governance: via proxy, mask, no governance (JSON)';
    const GOVERNED =
      'privacy-proxy-governance: via proxy, mask, usage + budgets + rate limit in Postgres (JSON)';
    const cpu = { plain: 0, governed: 0, plainOps: 0, governedOps: 0 };
    const counted = (child: BenchChild, key: 'plain' | 'governed') => async () => {
      await complete(child.url, token, jsonBody());
      cpu[`${key}Ops`]++;
    };
    const before = { plain: await plain.cpu(), governed: await governed.cpu() };
    // BENCH_PROXY_PROFILE=<dir>: the governed proxy's CPU profile over the JSON rounds (privacy-proxy.child.ts).
    await governed.stages('reset');
    const latency = await runComparison(
      [
        { name: DIRECT, op: () => complete(upstream.url, token, jsonBody()), durationMs: 7500 },
        { name: PLAIN, baseline: DIRECT, op: counted(plain, 'plain'), durationMs: 7500 },
        { name: GOVERNED, baseline: DIRECT, op: counted(governed, 'governed'), durationMs: 7500 },
      ],
      { rounds: 3 },
    );
    await governed.stages('report');
    const after = { plain: await plain.cpu(), governed: await governed.cpu() };
    cpu.plain = (after.plain.totalMs - before.plain.totalMs) / Math.max(1, cpu.plainOps);
    cpu.governed = (after.governed.totalMs - before.governed.totalMs) / Math.max(1, cpu.governedOps);
    const [direct, viaPlain, viaGoverned] = latency as [BenchResult, BenchResult, BenchResult];
    viaPlain.extra = {
      addedP50Ms: round(viaPlain.latencyMs.p50 - direct.latencyMs.p50, 3),
      addedP99Ms: round(viaPlain.latencyMs.p99 - direct.latencyMs.p99, 3),
      proxyCpuMsPerRequest: round(cpu.plain, 3),
      ...settled.get(plain),
    };
    viaGoverned.extra = {
      addedP50Ms: round(viaGoverned.latencyMs.p50 - direct.latencyMs.p50, 3),
      addedP99Ms: round(viaGoverned.latencyMs.p99 - direct.latencyMs.p99, 3),
      governanceAddedP50Ms: round(viaGoverned.latencyMs.p50 - viaPlain.latencyMs.p50, 3),
      proxyCpuMsPerRequest: round(cpu.governed, 3),
      targetAddedP50Ms: 1,
      targetAddedP99Ms: 2.5,
      ...settled.get(governed),
    };
    viaGoverned.notes =
      'proxyCpuMsPerRequest: CPU of the proxy process per request over the measured rounds and their warm-up (kernel TCP included); ' +
      'measured after the proxy settled (proxy-settle.ts): freshP99Ms is the p99 of its first settling window, settledP99Ms of its last';

    const ttft = {
      direct: new LatencyHistogram(),
      plain: new LatencyHistogram(),
      governed: new LatencyHistogram(),
    };
    const DIRECT_TTFT = 'privacy-proxy-governance: direct upstream, stream (TTFT)';
    const streams = await runComparison(
      [
        {
          name: DIRECT_TTFT,
          op: async () => ttft.direct.record(await firstToken(upstream.url, token, streamBody())),
          durationMs: 4500,
        },
        {
          name: 'privacy-proxy-governance: via proxy, no governance, stream (TTFT)',
          baseline: DIRECT_TTFT,
          op: async () => ttft.plain.record(await firstToken(plain.url, token, streamBody())),
          durationMs: 4500,
        },
        {
          name: 'privacy-proxy-governance: via proxy, governance on, stream (TTFT)',
          baseline: DIRECT_TTFT,
          op: async () => ttft.governed.record(await firstToken(governed.url, token, streamBody())),
          durationMs: 4500,
        },
      ],
      { rounds: 3 },
    );
    const histograms = [ttft.direct, ttft.plain, ttft.governed];
    streams.forEach((result, i) => {
      const histogram = histograms[i]!;
      result.notes = 'latency figures are time to first content token; throughput counts whole streams';
      result.latencyMs = {
        mean: round(histogram.mean(), 3),
        p50: round(histogram.percentile(50), 3),
        p95: round(histogram.percentile(95), 3),
        p99: round(histogram.percentile(99), 3),
        max: round(histogram.max, 3),
      };
    });
    streams[1]!.extra = {
      ttftOverheadP50Ms: round(streams[1]!.latencyMs.p50 - streams[0]!.latencyMs.p50, 3),
    };
    streams[2]!.extra = {
      ttftOverheadP50Ms: round(streams[2]!.latencyMs.p50 - streams[0]!.latencyMs.p50, 3),
      targetTtftOverheadMs: 1,
    };

    // Saturation: 16 clients back to back, the proxy with governance on against the upstream alone,
    // then two replicas of it sharing the clients.
    const second = await startChild(governedRole);
    children.push(second);
    await settleProxies([{ label: 'privacy-proxy-governance: second replica', child: second }], settleCalls);
    const replicas = [governed, second];
    let next = 0;
    const SATURATED_DIRECT = 'privacy-proxy-governance: direct upstream, 16 clients (JSON, saturation)';
    const saturation = await runComparison(
      [
        {
          name: SATURATED_DIRECT,
          concurrency: 16,
          op: () => complete(upstream.url, token, jsonBody()),
          durationMs: 3000,
        },
        {
          name: 'privacy-proxy-governance: via proxy, governance on, 16 clients (JSON, saturation)',
          baseline: SATURATED_DIRECT,
          concurrency: 16,
          op: () => complete(governed.url, token, jsonBody()),
          durationMs: 3000,
          extra: { targetThroughput: 2000 },
        },
        {
          // As a deployment runs more than one: a Service spreads the calls, the counters and the
          // usage live in the one database. One Node process uses one core; this machine has two.
          name: 'privacy-proxy-governance: via two proxy replicas, governance on, 16 clients (JSON, saturation)',
          baseline: SATURATED_DIRECT,
          concurrency: 16,
          op: () => complete(replicas[next++ % replicas.length]!.url, token, jsonBody()),
          durationMs: 3000,
          extra: { targetThroughput: 2000 },
        },
      ],
      { rounds: 1 },
    );

    // What the governed proxy wrote: every measured call counted, once (usage rows are hourly aggregates).
    const pool = new pg.Pool({ connectionString: ns.databaseUrl, max: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const written = await pool
      .query<{ requests: string; tokens: string }>(
        `SELECT coalesce(sum(requests), 0)::text AS requests, coalesce(sum(input_tokens + output_tokens), 0)::text AS tokens
           FROM privacy_proxy.llm_usage`,
      )
      .finally(() => pool.end());
    viaGoverned.extra['usageRequestsRecorded'] = Number(written.rows[0]!.requests);
    progress(
      `  privacy-proxy-governance: added p50 ${viaPlain.extra['addedP50Ms']} ms without, ${viaGoverned.extra['addedP50Ms']} ms with governance ` +
        `(p99 ${viaPlain.extra['addedP99Ms']} / ${viaGoverned.extra['addedP99Ms']} ms); proxy CPU ${viaPlain.extra['proxyCpuMsPerRequest']} / ` +
        `${viaGoverned.extra['proxyCpuMsPerRequest']} ms/request; TTFT +${streams[1]!.extra['ttftOverheadP50Ms']} / +${streams[2]!.extra['ttftOverheadP50Ms']} ms; ` +
        `saturation ${round(saturation[1]!.throughput, 0)} requests/s with governance, ${round(saturation[2]!.throughput, 0)} with two replicas (${round(saturation[0]!.throughput, 0)} direct); usage rows count ${written.rows[0]!.requests} calls`,
    );
    return [...latency, ...streams, ...saturation];
  } finally {
    for (const child of children) child.close();
    await ns.dispose().catch(() => undefined);
  }
}
