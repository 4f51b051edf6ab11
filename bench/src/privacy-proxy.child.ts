import { fork, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { LocalIssuer } from '@orgmesh/auth';
import { preloadNamesLexicon } from '@orgmesh/privacy';
import { createLogger } from '@orgmesh/telemetry';
import {
  attachGovernance,
  createPrivacyProxy,
  FileProfileSource,
  Governor,
  JoseTokenVerifier,
  PostgresCounterStore,
  PostgresUsageStore,
  PrivacyProxyMetrics,
} from '@orgmesh/privacy-proxy/testing';
import { Database } from '@orgmesh/persistence';
import type { LlmGovernance } from '@orgmesh/contracts';
import { startStageClock, type StageReport } from './proxy-stages.js';

/**
 * The processes of the privacy-proxy benchmark. The proxy and the scripted upstream each run in a
 * child process of their own, as they do in a deployment; the client stays in the bench process. Both
 * paths (client → upstream, client → proxy → upstream) then pay for the same client and the same
 * upstream, and the proxy's garbage collector sees only the proxy's allocations — in one process the
 * client's fetch churn made the proxy's collections long and landed them in the proxy path's tail.
 */

/** What the bench asks a child to start. */
export type ChildRole =
  | { readonly kind: 'upstream' }
  | {
      readonly kind: 'proxy';
      readonly upstream: string;
      readonly jwks: LocalIssuer['jwks'];
      readonly issuer: string;
      readonly audience: string;
      readonly hmacKey: string;
      readonly profiles: Parameters<typeof FileProfileSource.fromObject>[0]['profiles'];
      readonly directory: ReadonlyArray<{ name: string; email: string; userId: string }>;
      /** PRIVACY_DETECTION_MEMO_ENTRIES (default: the proxy's; 0: every text detected every time). */
      readonly detectionMemoEntries?: number;
      /**
       * LLM governance on (issue 24): usage and the budget counters in this Postgres database (schema
       * `privacy_proxy`, migrated by the bench), and these budgets and limits on every profile.
       */
      readonly governance?: { readonly databaseUrl: string; readonly llm: LlmGovernance };
    };

/** The placeholder key of every proxy the benches start (and of their in-process masking). */
export const BENCH_HMAC_KEY = 'bench-hmac-key-0123456789abcdef0123456789';

/** A proxy in front of `upstream`, trusting `issuer`'s tokens, with one role's profile and the directory. */
export function proxyRole(
  upstream: string,
  issuer: Pick<LocalIssuer, 'jwks' | 'issuer' | 'audience'>,
  profiles: Extract<ChildRole, { kind: 'proxy' }>['profiles'],
  directory: Extract<ChildRole, { kind: 'proxy' }>['directory'],
): Extract<ChildRole, { kind: 'proxy' }> {
  return {
    kind: 'proxy',
    upstream,
    jwks: issuer.jwks,
    issuer: issuer.issuer,
    audience: issuer.audience,
    hmacKey: BENCH_HMAC_KEY,
    profiles,
    directory,
  };
}

/** What the bench asks a child: start a role, its CPU time so far, or its stage clock (proxy-stages.ts). */
type Question =
  { readonly start: ChildRole } | { readonly cpu: true } | { readonly stages: 'reset' | 'report' };
type Request = { readonly id: number } & Question;
type Reply = {
  readonly id: number;
  readonly url?: string;
  readonly cpuMs?: number;
  readonly userMs?: number;
  readonly stages?: StageReport;
  readonly error?: string;
};

// BENCH_PROXY_STAGES=1: a proxy child times the stages of each request (started with the proxy).
let stageClock: ReturnType<typeof startStageClock> | undefined;

const PLACEHOLDER = /\[\[[A-Z]+_[0-9a-f]{8,16}\]\]/g;

/** A scripted OpenAI-style upstream: echoes the placeholders it received, JSON or SSE (40 deltas). */
async function startUpstream(): Promise<string> {
  const server = createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      // At most 200 placeholders echoed: the 2 MB case measures masking, not a 1 MB answer.
      const found = [...new Set(body.match(PLACEHOLDER) ?? [])].slice(0, 200);
      const text = `Summary: the checklist is complete. Contacts: ${found.join(', ') || 'none'}. Next steps follow in the report.`;
      if (body.includes('"stream":true')) {
        // As OpenAI: a stream's usage comes only when asked, as a last chunk without choices.
        const usage = body.includes('"include_usage":true');
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'bench' };
        const size = Math.ceil(text.length / 40);
        res.write(
          `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
        );
        for (let i = 0; i < text.length; i += size) {
          res.write(
            `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: text.slice(i, i + size) }, finish_reason: null }] })}\n\n`,
          );
        }
        res.write(
          `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
        );
        if (usage)
          res.write(
            `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 1000, completion_tokens: 40, total_tokens: 1040 } })}\n\n`,
          );
        res.end('data: [DONE]\n\n');
        return;
      }
      const payload = JSON.stringify({
        id: 'chatcmpl-bench',
        object: 'chat.completion',
        created: 1,
        model: 'bench',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1000, completion_tokens: 40, total_tokens: 1040 },
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startProxy(role: Extract<ChildRole, { kind: 'proxy' }>): Promise<string> {
  if (process.env['BENCH_PROXY_STAGES'] === '1') stageClock ??= startStageClock();
  // As main.ts does at start: the lexicon is built before the first request, not during it.
  preloadNamesLexicon();
  const profiles = FileProfileSource.fromObject({
    profiles: role.profiles,
    directory: [...role.directory],
  });
  const logger = createLogger({
    service: 'privacy-proxy',
    level: 'warn',
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  let governor: Governor | undefined;
  let metrics: PrivacyProxyMetrics | undefined;
  if (role.governance) {
    const db = await Database.connect({
      url: role.governance.databaseUrl,
      schema: 'privacy_proxy',
      poolSize: 4,
    });
    metrics = new PrivacyProxyMetrics();
    governor = new Governor(
      { counters: new PostgresCounterStore(db), usage: new PostgresUsageStore(db), logger },
      metrics,
    );
    // What the registry source does for a signed profile: its budgets and limits ride on the profile object.
    for (const role_ of Object.keys(role.profiles)) {
      const profile = await profiles.getProfile(role_);
      if (profile)
        attachGovernance(profile, {
          profileId: role_,
          role: role_,
          providers: [{ name: 'openai', models: [] }],
          llm: role.governance.llm,
        });
    }
  }
  const proxy = createPrivacyProxy({
    openai: { url: role.upstream, key: 'sk-bench' },
    verifier: JoseTokenVerifier.fromLocalJwks(role.jwks, { issuer: role.issuer, audience: role.audience }),
    profiles,
    hmacKey: role.hmacKey,
    // Audit events are built (the proxy's work) and dropped (a sink is off the request path).
    audit: { emit: () => undefined },
    logger,
    ...(role.detectionMemoEntries !== undefined ? { detectionMemoEntries: role.detectionMemoEntries } : {}),
    metrics,
    ...(governor ? { governor } : {}),
  });
  return `${await proxy.listen(0)}/v1`;
}

let profiler: Session | undefined;

/**
 * BENCH_PROXY_PROFILE=<dir>: a proxy child records a V8 CPU profile of the measured JSON scenario,
 * from the stage clock's reset (after the warm-up, the proxy settled) to its report, written to
 * `<dir>/proxy-<pid>.cpuprofile` (open it in Chrome DevTools or speedscope). Not for the upstream.
 */
async function startProfile(): Promise<void> {
  if (!process.env['BENCH_PROXY_PROFILE'] || !isProxy || profiler) return;
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  // 100 us: a proxied request takes about 1 ms of CPU, so the default 1 ms would sample it once.
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
  await profiler.post('Profiler.start');
}

async function stopProfile(): Promise<void> {
  const dir = process.env['BENCH_PROXY_PROFILE'];
  if (!dir || !profiler) return;
  const { profile } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  profiler = undefined;
  await writeFile(join(dir, `proxy-${process.pid}.cpuprofile`), JSON.stringify(profile));
}

let isProxy = false;

/** The child's side: starts what it is asked to, answers CPU readings, exits with its parent. */
function serveParent(): void {
  const send = (reply: Reply) => process.send!(reply);
  process.on('message', (request: Request) => {
    if ('cpu' in request) {
      const used = process.cpuUsage();
      send({ id: request.id, cpuMs: (used.user + used.system) / 1000, userMs: used.user / 1000 });
      return;
    }
    if ('stages' in request) {
      if (request.stages === 'reset') stageClock?.reset();
      const profiled = request.stages === 'reset' ? startProfile() : stopProfile();
      void profiled.then(() =>
        send({
          id: request.id,
          ...(request.stages === 'report' && stageClock ? { stages: stageClock.report() } : {}),
        }),
      );
      return;
    }
    isProxy = request.start.kind === 'proxy';
    const started = request.start.kind === 'upstream' ? startUpstream() : startProxy(request.start);
    started.then(
      (url) => send({ id: request.id, url }),
      (error: unknown) =>
        send({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/** A bench child process: what it serves, its URL, and its CPU time so far. */
export interface BenchChild {
  readonly url: string;
  /** CPU time so far: in all (user and kernel: loopback TCP is kernel time) and in user space. */
  cpu(): Promise<{ totalMs: number; userMs: number }>;
  /**
   * With BENCH_PROXY_STAGES=1, a proxy of this build times its requests' stages: `reset` starts
   * over, `report` says what was timed since (undefined without the variable). Not for a child of
   * another build (`startChild`'s `build`), which does not know the message.
   */
  stages(action: 'reset' | 'report'): Promise<StageReport | undefined>;
  close(): void;
}

/**
 * Forks this module as a child and starts `role` in it; with `build` (the root of another checkout of
 * orgmesh, built), that build's copy of this module, so that two builds' proxies run side by side;
 * with `nodeArgs`, node flags for this child only.
 */
export async function startChild(
  role: ChildRole,
  build?: string,
  nodeArgs?: readonly string[],
): Promise<BenchChild> {
  const module = build
    ? join(build, 'bench', 'dist', 'privacy-proxy.child.js')
    : fileURLToPath(import.meta.url);
  const child: ChildProcess = fork(module, ['--bench-child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Node flags of this child only (a GC setting, say), after the bench's own.
    ...(nodeArgs ? { execArgv: [...process.execArgv, ...nodeArgs] } : {}),
  });
  let next = 0;
  const waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  child.on('message', (reply: Reply) => {
    waiting.get(reply.id)?.resolve(reply);
    waiting.delete(reply.id);
  });
  child.once('exit', (code) => {
    for (const { reject } of waiting.values()) reject(new Error(`bench child exited (${code})`));
    waiting.clear();
  });
  const ask = (request: Question) =>
    new Promise<Reply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      child.send({ ...request, id });
    });
  const started = await ask({ start: role });
  if (started.error || !started.url) throw new Error(`bench child failed: ${started.error ?? 'no url'}`);
  return {
    url: started.url,
    cpu: async () => {
      const reply = await ask({ cpu: true });
      return { totalMs: reply.cpuMs ?? Number.NaN, userMs: reply.userMs ?? Number.NaN };
    },
    stages: async (action) => (await ask({ stages: action })).stages,
    close: () => child.disconnect(),
  };
}

if (process.argv.includes('--bench-child')) serveParent();
