import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateSecuredBus } from '@orgmesh/messaging';
import { MIGRATED_SERVICES, runMigrations } from '@orgmesh/migrations';
import { refusesAnonymous, startOidcProvider, type OidcTestProvider } from '@orgmesh/testing';
import { REFERENCE_ROLES, referenceAgentId, seedFile, startChaosSuite, type ChaosSuite, type ManagedProcess } from './cluster.js';
import { faultsFor, type Fault, type FaultEnv } from './faults.js';
import { startChaosNats, startChaosPostgres, type ChaosPostgres } from './infra.js';
import { startChaosNatsCluster } from './nats-cluster.js';
import { ChaosLoad, loadRoster } from './load.js';
import { findDeadLetters, injectPoison, type Poison } from './poison.js';
import { checkSessions, checkTasks, describeRecovery, settle, summarize, taskEvents, taskStates, type ChaosResult, type FaultRecord } from './report.js';

export interface ChaosOptions {
  root: string;
  /** Tasks, approvals and notifications together (a third each). */
  tasks: number;
  agents: number;
  /** Over how long the load is spread; the faults are spread over the same span. */
  loadSeconds: number;
  /** How long a fault may take to recover before the run calls it not recovered. */
  recoveryTimeoutMs?: number;
  /** NATS as a 3-node JetStream cluster (streams at 3 replicas); its faults kill nodes instead of restarting the one server. */
  natsCluster?: boolean;
  /** Stop waiting for open tasks after this long without progress. */
  settleQuietMs?: number;
  say?: (line: string) => void;
}

export interface ChaosRun {
  result: ChaosResult;
  logDir: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosRun> {
  const began = Date.now();
  const say = (line: string) =>
    (options.say ?? ((l: string) => process.stdout.write(`${l}\n`)))(`[chaos +${((Date.now() - began) / 1000).toFixed(1)}s] ${line}`);
  const dir = mkdtempSync(join(tmpdir(), 'orgmesh-chaos-'));
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const runId = randomBytes(4).toString('hex');
  const secret = randomBytes(16).toString('hex');
  let nats: FaultEnv['nats'] | undefined;
  let postgres: ChaosPostgres | undefined;
  let provider: OidcTestProvider | undefined;
  let suite: ChaosSuite | undefined;
  let load: ChaosLoad | undefined;
  let ok = false;
  let faultsDone = () => {};
  try {
    // The bus secured as `npm start` and the production overlay secure it: one NKey per identity
    // (every service, the reference agents and each SDK agent of the load) with the permissions the
    // contracts give it, no anonymous client.
    const roster = loadRoster(options.agents);
    const credentials = generateSecuredBus({
      outDir: join(dir, 'nats-credentials'),
      namespace: { subjectPrefix: '', nameSuffix: '' },
      agents: [
        ...REFERENCE_ROLES.map((role) => ({ agentId: referenceAgentId(role), agentRole: role })),
        ...roster.map(({ clientId, role }) => ({ agentId: clientId, agentRole: role })),
      ],
    });
    const routerSeed = seedFile(credentials.seedFiles, 'mesh-router');
    nats = options.natsCluster
      ? { cluster: await startChaosNatsCluster(dir, logDir, credentials.authFile) }
      : { single: await startChaosNats(dir, join(logDir, 'nats-server.log'), credentials.authFile) };
    const natsUrl = 'cluster' in nats ? nats.cluster.url : nats.single.url;
    postgres = await startChaosPostgres(dir);
    say(`NATS ${natsUrl}${'cluster' in nats ? ' (3-node JetStream cluster, streams at 3 replicas)' : ''} (secured: an NKey per identity), Postgres ${postgres.url}; logs in ${logDir}`);
    for (const service of MIGRATED_SERVICES()) await runMigrations({ url: postgres.url, service });
    const audience = 'urn:orgmesh:chaos';
    const client = (clientId: string, role: string) => ({
      clientId,
      clientSecret: secret,
      tokenEndpointAuthMethod: 'client_secret_basic' as const,
      scope: 'orgmesh:agent',
      claims: { role, tenant: 'default' },
    });
    provider = await startOidcProvider({
      audience,
      accessTokenTtlSec: 3_600,
      clients: [
        ...REFERENCE_ROLES.map((role) => client(referenceAgentId(role), role)),
        ...roster.map(({ clientId, role }) => client(clientId, role)),
      ],
    });
    const oidc = { issuer: provider.issuer, jwksUrl: provider.jwksUrl, audience, agentSecret: secret };
    suite = await startChaosSuite({
      root: options.root,
      logDir,
      natsUrl,
      streamReplicas: 'cluster' in nats ? 3 : 1,
      seedFiles: credentials.seedFiles,
      databaseUrl: postgres.url,
      oidc,
      recordFile: join(dir, 'model-requests.jsonl'),
      stateDir: dir,
      say,
    });
    say(`suite ready: ${suite.processes.map((p) => p.name).join(', ')}`);
    load = await ChaosLoad.start({
      natsUrl,
      gatewayUrls: suite.gatewayUrls,
      oidc: { issuer: provider.issuer, secret },
      agents: options.agents,
      runId,
      seedFiles: credentials.seedFiles,
    });
    say(`${load.agents.length} SDK agents consuming; driving ${options.tasks} creates over ${options.loadSeconds} s`);
    const env: FaultEnv = { suite, nats, postgres };
    const loadStart = Date.now();
    let loadDone = false;
    // The last 15 % of the load waits for the last fault's recovery: on a slow machine recoveries
    // push the schedule back, and every fault must still land while the load runs.
    const allFaultsDone = new Promise<void>((resolve) => (faultsDone = resolve));
    const driving = drive(load, options, loadStart, allFaultsDone, say).finally(() => (loadDone = true));
    const faults: FaultRecord[] = [];
    let poisons: Poison[] = [];
    const schedule = faultsFor(options.natsCluster ?? false);
    for (const [n, fault] of schedule.entries()) {
      const due = loadStart + fault.at * options.loadSeconds * 1_000;
      if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const underLoad = !loadDone;
      say(`FAULT ${n + 1}/${schedule.length}: ${fault.name}${underLoad ? '' : ' (the load has ended)'}`);
      const at = Date.now();
      await fault.inject(env);
      const recovery = await recover(load, env, postgres.url, fault, n, at, options.recoveryTimeoutMs ?? 120_000);
      say(
        recovery.recoveryMs === null
          ? `  not recovered within ${(options.recoveryTimeoutMs ?? 120_000) / 1000} s`
          : `  recovered in ${(recovery.recoveryMs / 1000).toFixed(1)} s: ${describeRecovery(recovery)}; probe task ${recovery.probe}`,
      );
      faults.push({ name: fault.name, at: at - loadStart, underLoad, ...recovery });
      if (fault.name.includes('NATS') && !poisons.length) {
        poisons = await injectPoison(natsUrl, routerSeed);
        say(`published ${poisons.length} poison messages: ${poisons.map((p) => `${p.name} (${p.subject})`).join('; ')}`);
      }
    }
    faultsDone();
    await driving;
    say(`load done: ${load.acknowledged.size} acknowledged; waiting for every acknowledged task to end`);
    const states = await settle(postgres.url, load, options.settleQuietMs ?? 90_000, say);
    const sessions = await checkSessions(postgres.url);
    const tasks = await checkTasks(postgres.url);
    const poisoned = await findDeadLetters(natsUrl, routerSeed, poisons);
    const streams = 'cluster' in nats ? await nats.cluster.streams() : undefined;
    // After every restart and node kill: each server still runs with the users' file.
    const anonymousRefused = await refusesAnonymous(natsUrl);
    const result = summarize(load, states, sessions, tasks, faults, poisoned, Date.now() - began, {
      anonymousRefused,
      ...(streams ? { streams } : {}),
    });
    ok = result.ok;
    return { result, logDir };
  } finally {
    faultsDone();
    await load?.stop().catch(() => undefined);
    await suite?.stop().catch(() => undefined);
    await provider?.close().catch(() => undefined);
    await (nats && 'cluster' in nats ? nats.cluster : nats?.single)?.stop().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    // Logs stay when something went wrong: they are the evidence.
    if (ok) rmSync(dir, { recursive: true, force: true });
    else say(`logs kept in ${logDir}`);
  }
}

/** Releases item i at loadStart + i·span/N (the tail not before `tail`), with at most 64 creates in flight. */
async function drive(
  load: ChaosLoad,
  options: ChaosOptions,
  loadStart: number,
  tail: Promise<void>,
  say: (line: string) => void,
): Promise<void> {
  const tailFrom = Math.floor(options.tasks * 0.85);
  const spanMs = options.loadSeconds * 1_000;
  const inFlight = new Set<Promise<unknown>>();
  let lastReport = Date.now();
  for (let i = 0; i < options.tasks; i++) {
    const due = loadStart + (i * spanMs) / options.tasks;
    if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    if (i === tailFrom) await tail;
    while (inFlight.size >= 64) await Promise.race(inFlight);
    const p = load.create(i).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      say(`load: ${i + 1}/${options.tasks} released, ${load.acknowledged.size} acknowledged, ${inFlight.size} in flight`);
    }
  }
  await Promise.all(inFlight);
}

/**
 * Two clocks from the moment the fault is injected: how long until work flows again (a task created
 * right after the fault, through a gateway, reached `completed` — the surviving replica may carry
 * it), and how long until the process the fault hit answers its readiness probe again. The fault's
 * recovery is the later of the two.
 */
async function recover(
  load: ChaosLoad,
  env: FaultEnv,
  databaseUrl: string,
  fault: Fault,
  n: number,
  at: number,
  timeoutMs: number,
): Promise<Pick<FaultRecord, 'recoveryMs' | 'workMs' | 'processMs' | 'probe'>> {
  const deadline = at + timeoutMs;
  const target: ManagedProcess | undefined = fault.process ? env.suite.byName(fault.process) : undefined;
  const processBack = (async () => {
    if (fault.heal)
      return fault.heal(env).then(
        () => Date.now() - at,
        () => Number.NaN,
      );
    if (!target) return null;
    // A killed process is restarted after a short delay: let it die before probing its readiness.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return target.ready(Math.max(1, deadline - Date.now())).then(
      () => Date.now() - at,
      () => Number.NaN,
    );
  })();
  const timeline: string[] = [];
  const workFlows = (async () => {
    // Item 6k+3: a task, through REST (see ChaosLoad.create).
    const probe = await load.create(6 * n + 3, `probe${n + 1}`);
    if (!probe) return Number.NaN;
    timeline.push(
      `acknowledged +${((probe.at - at) / 1000).toFixed(1)} s` +
        (probe.attempts > 1 ? ` at attempt ${probe.attempts} (before: ${probe.failures.join(' | ')})` : ''),
    );
    while (Date.now() < deadline) {
      const state = (await taskStates(databaseUrl, [probe.id]).catch(() => new Map<string, string>())).get(probe.id);
      if (state === 'completed') {
        const done = Date.now() - at;
        // Where the time went: the probe's own history, as the mesh recorded it.
        for (const e of await taskEvents(databaseUrl, probe.id).catch(() => []))
          timeline.push(`${e.event} +${((e.at - at) / 1000).toFixed(1)} s`);
        return done;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return Number.NaN;
  })();
  const [processMs, workMs] = await Promise.all([processBack, workFlows]);
  const failed = Number.isNaN(workMs) || (processMs !== null && Number.isNaN(processMs));
  return {
    recoveryMs: failed ? null : Math.max(workMs, processMs ?? 0),
    workMs: Number.isNaN(workMs) ? null : workMs,
    processMs: processMs === null || Number.isNaN(processMs) ? null : processMs,
    probe: timeline.join(', '),
  };
}
