import { readFileSync } from 'node:fs';
import { LocalIssuer } from '@orgmesh/auth';
import { Detector, MaskingSession, PrivacyProfileSchema, Pseudonymizer } from '@orgmesh/privacy';
import { BENCH_HMAC_KEY, proxyRole, startChild, type BenchChild } from './privacy-proxy.child.js';
import { conversationTurns } from './privacy-proxy-conversation.js';
import { settleProxies } from './proxy-settle.js';
import { postJson } from './http-client.js';
import {
  LatencyHistogram,
  progress,
  round,
  runComparison,
  runScenario,
  type BenchResult,
} from './harness.js';

/**
 * Privacy proxy benchmarks (issue 6). The proxy and the scripted upstream run in child processes of
 * their own (privacy-proxy.child.ts), the client in this one: the direct call and the call through the
 * proxy pay for the same client and upstream, and the proxy's collector sees only its own garbage.
 * - added latency of a masked OpenAI chat completion (4 KB prompt, ~10 entities) over calling the
 *   scripted upstream directly, in interleaved rounds of the same run (target p50 ≤ 1 ms, p99 ≤ 2.5 ms
 *   with normalisation and names on, issue 19), and the proxy process's CPU time per request;
 * - streaming time to first token through the proxy vs direct (target ≤ 1 ms overhead);
 * - detection throughput in MB/s on one core (target ≥ 20 MB/s), on business text and on the dense
 *   labelled corpus of libs/privacy, with normalisation (issue 19) on and off in the same run;
 * - a 2 MB request with 50,000 values (issue 19, target ≤ 1 s): masked in process (normalisation off as
 *   the baseline) and through the proxy against the direct upstream call with the same body.
 */

const CORPUS = new URL('../../libs/privacy/corpus/', import.meta.url);

const PARAGRAPHS = [
  'Quarterly close checklist for the EMEA entities. Reconcile the intercompany balances before the 5th business day, ',
  'confirm the accruals for the logistics contracts, and make sure every purchase order above 50,000 EUR has a second approver. ',
  'The variance analysis for cost centre CC-1042 is still open; revenue grew 12.5% to 4,567,890 EUR while freight costs rose 3.2%. ',
  'Please review the attached vendor statement (invoice INV-88412, due 2024-08-31) and flag anything that does not match the ledger. ',
  'Release v2.10.4 of the reporting service fixed the rounding issue reported in ticket 4821; build 10.0.19045 remains the minimum client. ',
];
const ENTITIES = [
  'Escalate to Jane Doe (jane.doe@acme.example) if the supplier does not answer.',
  'The supplier contact is Mr. Hendricks, phone +44 20 7946 0958.',
  'Refunds go to IBAN DE89 3704 0044 0532 0130 00; the corporate card 4111 1111 1111 1111 must not be charged.',
  'The payroll correction concerns SSN 123-45-6789, employee EMP-20431, DOB: 1985-03-12, account number 004512339871.',
  'The access review showed logins from 203.0.113.45.',
];

let served = 0;

/**
 * The 4 KB prompt with an invoice number no earlier request had (the same length, the same
 * entities): the proxy remembers the detection of texts it has seen (DetectionMemo), so a bench that
 * sent one text again and again would measure the memory, not the masking of a new prompt.
 */
export function freshPrompt(): string {
  return prompt().replaceAll('INV-88412', `INV-${String(served++ % 100_000).padStart(5, '0')}`);
}

/**
 * The benches' 4 KB request bodies for `model`, each with a prompt no earlier request had
 * (freshPrompt): a completion with a system prompt, and a stream.
 */
export function freshBodies(model: string): { json: () => string; stream: () => string } {
  return {
    json: () =>
      JSON.stringify({
        model,
        messages: [
          { role: 'system', content: 'You help the finance team.' },
          { role: 'user', content: freshPrompt() },
        ],
      }),
    stream: () =>
      JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: freshPrompt() }] }),
  };
}

/** About 4 KB of business text with 12 entities. */
export function prompt(): string {
  let text = '';
  let p = 0;
  for (let i = 0; text.length < 4000; i++) {
    text += PARAGRAPHS[p++ % PARAGRAPHS.length];
    if (i % 2 === 1 && i / 2 < ENTITIES.length) text += `${ENTITIES[(i - 1) / 2]} `;
  }
  return text.slice(0, 4096);
}

/** The same business text with the disguises of issue 19 in its values (NBSP, zero-width, full-width, escapes). */
function disguised(text: string): string {
  return text
    .replace('jane.doe@acme.example', 'jane.d\u200boe&#64;acme.example')
    .replace('+44 20 7946 0958', '+44\u00a020\u00a07946\u00a00958')
    .replace('123-45-6789', '１２３-４５-６７８９')
    .replace('DE89 3704 0044 0532 0130 00', 'de89-3704-0044-0532-0130-00');
}

function ibanDE(bban: string): string {
  let r = 0;
  for (const ch of `${bban}131400`) r = (r * 10 + Number(ch)) % 97;
  return `DE${String(98 - r).padStart(2, '0')}${bban}`;
}

/**
 * A dense request of about 2 MB with `values` distinct values (addresses, SSNs, phones, IBANs, IP
 * addresses, names after a cue) in short business sentences, as 100 messages of a conversation.
 */
function denseRequest(values = 50_000, bytes = 2 * 1024 * 1024): string[] {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; i < values; i++) {
    const n = String(i).padStart(6, '0');
    const area = String(101 + (i % 560)).padStart(3, '0');
    let line: string;
    switch (i % 6) {
      case 0:
        line = `Mail user${n}@corp${i % 97}.example today.`;
        break;
      case 1:
        line = `SSN ${area}-${String(10 + (i % 89))}-${n.slice(2)} noted.`;
        break;
      case 2:
        line = `Call +1 212 55${n.slice(0, 1)} ${n.slice(2)} now.`;
        break;
      case 3:
        line = `Pay ${ibanDE(`37040044${n}${String(i % 97).padStart(4, '0')}`)} soon.`;
        break;
      case 4:
        line = `Login 10.${i % 250}.${(i >> 8) % 250}.${(i % 200) + 1} seen.`;
        break;
      default:
        line = `Dear Mr. Hendricks${String.fromCharCode(97 + (i % 26), 97 + ((i >> 5) % 26), 97 + ((i >> 10) % 26))},`;
    }
    lines.push(line);
    size += line.length + 1;
  }
  // Business filler up to the size, spread evenly between the lines.
  const fill = Math.max(0, Math.floor((bytes - size) / values));
  const filler = PARAGRAPHS.join('').replace(/\d/g, 'x');
  const texts: string[] = [];
  const perMessage = Math.ceil(values / 100);
  for (let m = 0; m < values; m += perMessage) {
    texts.push(
      lines
        .slice(m, m + perMessage)
        .map((line, k) => `${line} ${filler.slice((k * 37) % 300, ((k * 37) % 300) + fill)}`)
        .join(' '),
    );
  }
  return texts;
}

export async function complete(url: string, token: string, body: string): Promise<void> {
  const answer = await postJson(`${url}/chat/completions`, token, body);
  if (answer.status !== 200) throw new Error(`status ${answer.status}`);
  const json = JSON.parse(answer.body) as { choices: Array<{ message: { content: string } }> };
  if (json.choices[0]!.message.content.includes('[[')) throw new Error('placeholder left in the answer');
}

/** Milliseconds from sending the request to the first non-empty content delta; drains the rest. */
export async function firstToken(url: string, token: string, body: string): Promise<number> {
  const decoder = new TextDecoder();
  let ttft = -1;
  let seen = '';
  const started = performance.now();
  const answer = await postJson(`${url}/chat/completions`, token, body, (chunk, at) => {
    if (ttft >= 0) return;
    seen += decoder.decode(chunk, { stream: true });
    if (/"content":"[^"]/.test(seen)) ttft = at - started;
  });
  if (answer.status !== 200) throw new Error(`status ${answer.status}`);
  if (ttft < 0) throw new Error('no content in the stream');
  return ttft;
}

function megabytesPerSecond(
  detector: Detector,
  text: string,
  minMs = 1500,
): { mbPerSecond: number; megabytes: number } {
  const flat = Buffer.from(text).toString();
  for (let i = 0; i < 3; i++) detector.detect(flat);
  const bytes = Buffer.byteLength(flat);
  let done = 0;
  const before = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < minMs) {
    detector.detect(flat);
    done++;
  }
  const cpuSeconds = process.cpuUsage(before).user / 1e6;
  return {
    mbPerSecond: round((done * bytes) / 1e6 / cpuSeconds, 1),
    megabytes: round((done * bytes) / 1e6, 1),
  };
}

/**
 * CPU time per operation of in-process masking, kept on the side of the harness's wall times: on a
 * shared machine wall time also counts other processes' turns. Means include warm-up operations.
 */
const cpu = new Map<string, { ms: number; ops: number }>();
function timed(name: string, op: () => Promise<unknown>): () => Promise<void> {
  return async () => {
    const before = process.cpuUsage();
    await op();
    const used = process.cpuUsage(before);
    const entry = cpu.get(name) ?? { ms: 0, ops: 0 };
    entry.ms += (used.user + used.system) / 1000;
    entry.ops++;
    cpu.set(name, entry);
  };
}
function cpuMs(name: string, digits = 1): number {
  const entry = cpu.get(name);
  return entry ? round(entry.ms / entry.ops, digits) : -1;
}

/**
 * The proxy process's CPU time per request while `measure` runs (after a warm-up of its own):
 * between the calls through it the proxy serves nothing, so this is what one request costs it,
 * whatever the machine's load does to wall times. `measure` is handed the counter to wrap the
 * proxied operation with.
 */
async function proxyCpuPerRequest<T>(
  proxy: BenchChild,
  warmUp: () => Promise<unknown>,
  measure: (counted: (op: () => Promise<unknown>) => () => Promise<void>) => Promise<T>,
): Promise<{ result: T; cpuMsPerRequest: number; userCpuMsPerRequest: number }> {
  // Compiled and warm before the CPU clock starts: the first calls' JIT work is no request's cost.
  for (let i = 0; i < 3; i++) await warmUp();
  const warmed = performance.now();
  while (performance.now() - warmed < 1000) await warmUp();
  let requests = 0;
  const before = await proxy.cpu();
  const result = await measure((op) => async () => {
    await op();
    requests++;
  });
  const after = await proxy.cpu();
  const per = (ms: number) => ms / Math.max(1, requests);
  return {
    result,
    cpuMsPerRequest: per(after.totalMs - before.totalMs),
    userCpuMsPerRequest: per(after.userMs - before.userMs),
  };
}

/**
 * The 2 MB / 50,000-value request of issue 19: masked in process with normalisation off (baseline)
 * and on, then sent through the proxy and directly to the upstream (baseline), interleaved.
 */
async function largeRequest(
  upstreamUrl: string,
  proxy: BenchChild,
  token: string,
  profileInput: { mode: 'mask'; employeeIdPattern: string },
  directory: Array<{ name: string; email: string; userId: string }>,
): Promise<BenchResult[]> {
  const texts = denseRequest();
  const chars = texts.reduce((n, t) => n + t.length, 0);
  const profile = PrivacyProfileSchema.parse(profileInput);
  const pseudonymizer = new Pseudonymizer(BENCH_HMAC_KEY);
  const normalising = Detector.forProfile(profile, { people: directory });
  const raw = Detector.forProfile(profile, { people: directory }, undefined, { normalize: false });
  const probe = new MaskingSession(normalising, pseudonymizer, profile, 'acme');
  probe.processAll(texts);
  progress(`  privacy-proxy: large request ${(chars / 1e6).toFixed(2)} M characters, ${probe.total} values`);
  const mask = (detector: Detector) => async () => {
    const session = new MaskingSession(detector, pseudonymizer, profile, 'acme');
    session.processAll(texts);
  };
  const ON = 'privacy: mask 2 MB / 50k values in process, normalisation on';
  const OFF = 'privacy: mask 2 MB / 50k values in process, normalisation off';
  const inProcess = await runComparison(
    [
      { name: OFF, op: timed(OFF, mask(raw)), durationMs: 6000, warmupMs: 1500 },
      {
        name: ON,
        baseline: OFF,
        op: timed(ON, mask(normalising)),
        durationMs: 6000,
        warmupMs: 1500,
      },
    ],
    { rounds: 3 },
  );
  // Each request's messages are new to the proxy (a reference number in front), as in freshPrompt.
  const body = () => {
    const ref = served++;
    return JSON.stringify({
      model: 'bench',
      messages: texts.map((content) => ({ role: 'user', content: `Ref ${ref}. ${content}` })),
    });
  };
  const DIRECT = 'privacy-proxy: direct upstream, 2 MB / 50k values (JSON)';
  const PROXIED = 'privacy-proxy: via proxy, mask, 2 MB / 50k values (JSON)';
  const {
    result: viaProxy,
    cpuMsPerRequest,
    userCpuMsPerRequest,
  } = await proxyCpuPerRequest(
    proxy,
    () => complete(proxy.url, token, body()),
    (counted) =>
      runComparison(
        [
          {
            name: DIRECT,
            op: () => complete(upstreamUrl, token, body()),
            durationMs: 6000,
            warmupMs: 1500,
          },
          {
            name: PROXIED,
            baseline: DIRECT,
            op: counted(() => complete(proxy.url, token, body())),
            durationMs: 6000,
            warmupMs: 1500,
          },
        ],
        { rounds: 3 },
      ),
  );
  const [off, on] = inProcess as [BenchResult, BenchResult];
  const [direct, proxied] = viaProxy as [BenchResult, BenchResult];
  on.extra = {
    characters: chars,
    values: probe.total,
    normalisationAddedP50Ms: round(on.latencyMs.p50 - off.latencyMs.p50, 1),
    cpuMsPerOp: cpuMs(ON),
    baselineCpuMsPerOp: cpuMs(OFF),
    targetMs: 1000,
  };
  proxied.extra = {
    addedP50Ms: round(proxied.latencyMs.p50 - direct.latencyMs.p50, 1),
    addedP99Ms: round(proxied.latencyMs.p99 - direct.latencyMs.p99, 1),
    proxyCpuMsPerRequest: round(cpuMsPerRequest, 1),
    proxyUserCpuMsPerRequest: round(userCpuMsPerRequest, 1),
    targetAddedMs: 1000,
  };
  on.notes = 'cpuMsPerOp: mean CPU time of one masking (warm-up included), one core';
  proxied.notes =
    'proxy*CpuMsPerRequest: mean CPU time of the proxy process per request after a warm-up, in all (kernel TCP included) and in user space';
  progress(
    `  privacy-proxy: 2 MB / ${probe.total} values: in process p50 ${on.latencyMs.p50} ms, ${cpuMs(ON)} CPU ms ` +
      `(normalisation off ${off.latencyMs.p50} ms, ${cpuMs(OFF)} CPU ms); through the proxy +${proxied.extra['addedP50Ms']} ms p50, ` +
      `${proxied.extra['proxyCpuMsPerRequest']} CPU ms in the proxy (direct ${direct.latencyMs.p50} ms)`,
  );
  return [...inProcess, ...viaProxy];
}

/** A JSON call and a stream through the proxy at `url` with `token` and these bodies (settleProxies' calls). */
export function proxyCalls(
  token: string,
  bodies: { json: () => string; stream: () => string },
): { json: (url: string) => Promise<void>; stream: (url: string) => Promise<number> } {
  return {
    json: (url) => complete(url, token, bodies.json()),
    stream: (url) => firstToken(url, token, bodies.stream()),
  };
}

export async function run(): Promise<BenchResult[]> {
  const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:bench', audience: 'orgmesh' });
  const token = await issuer.sign({ sub: 'finance-agent', role: 'finance', tenant: 'acme' });
  const directory = [{ name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' }];
  // Normalisation and names are on by default (issue 19's bench conditions).
  const profile = { mode: 'mask' as const, employeeIdPattern: 'EMP-\\d{5}' };
  const upstream = await startChild({ kind: 'upstream' });
  const role = proxyRole(upstream.url, issuer, { finance: profile }, directory);
  const proxy = await startChild(role);
  const proxyUrl = proxy.url;
  // BENCH_PROXY_COMPARE=<root of another checkout, built>: that build's proxy is measured in the same
  // rounds (before and after a change in one run, where the machine's speed moves between runs).
  // BENCH_PROXY_COMPARE_NODE_ARGS="<node flags>": the compared proxy (this build unless
  // BENCH_PROXY_COMPARE names another) runs with these flags, e.g. a GC setting against the default.
  const compareRoot = process.env['BENCH_PROXY_COMPARE'];
  const compareArgs = process.env['BENCH_PROXY_COMPARE_NODE_ARGS']?.split(' ').filter(Boolean);
  const compared =
    compareRoot || compareArgs?.length
      ? await startChild(role, compareRoot || undefined, compareArgs)
      : undefined;
  const text = prompt();
  const detector = Detector.forProfile(profile, { people: directory });
  const entityCount = detector.detect(text).length;
  progress(`  privacy-proxy: prompt ${Buffer.byteLength(text)} bytes, ${entityCount} entities`);
  // A new prompt per request (freshPrompt), for the direct calls too: both pay the same client work.
  const bodies = freshBodies('bench');
  const { json: jsonBody, stream: streamBody } = bodies;
  const settleCalls = proxyCalls(token, bodies);

  try {
    // Proxies in service, not fresh processes (proxy-settle.ts says why).
    const settled = await settleProxies(
      [
        { label: 'privacy-proxy: proxy', child: proxy },
        ...(compared ? [{ label: 'privacy-proxy: compared build', child: compared }] : []),
      ],
      settleCalls,
    );
    const DIRECT = 'privacy-proxy: direct upstream, 4 KB prompt (JSON)';
    const VIA_PROXY = `privacy-proxy: via proxy, mask, 4 KB prompt, ${entityCount} entities (JSON)`;
    const {
      result: latency,
      cpuMsPerRequest,
      userCpuMsPerRequest,
    } = await proxyCpuPerRequest(
      proxy,
      () => complete(proxyUrl, token, jsonBody()),
      (counted) =>
        runComparison(
          [
            { name: DIRECT, op: () => complete(upstream.url, token, jsonBody()), durationMs: 4000 },
            {
              name: VIA_PROXY,
              baseline: DIRECT,
              op: counted(() => complete(proxyUrl, token, jsonBody())),
              durationMs: 4000,
              // BENCH_PROXY_STAGES=1: time this scenario's measured requests only.
              afterWarmUp: async () => void (await proxy.stages('reset')),
            },
            ...(compared
              ? [
                  {
                    name: `${VIA_PROXY}, compared build`,
                    baseline: DIRECT,
                    op: () => complete(compared.url, token, jsonBody()),
                    durationMs: 4000,
                  },
                ]
              : []),
          ],
          { rounds: 4 },
        ),
    );
    const [direct, viaProxy, viaCompared] = latency as [BenchResult, BenchResult, BenchResult?];
    viaProxy.extra = {
      addedP50Ms: round(viaProxy.latencyMs.p50 - direct.latencyMs.p50, 3),
      addedP99Ms: round(viaProxy.latencyMs.p99 - direct.latencyMs.p99, 3),
      proxyCpuMsPerRequest: round(cpuMsPerRequest, 3),
      proxyUserCpuMsPerRequest: round(userCpuMsPerRequest, 3),
      targetAddedP50Ms: 1,
      targetAddedP99Ms: 2.5,
      ...settled.get(proxy),
    };
    viaProxy.notes =
      'proxy*CpuMsPerRequest: mean CPU time of the proxy process per request after a warm-up, in all (kernel TCP included) and in user space; ' +
      'measured after the proxy settled (proxy-settle.ts): freshP99Ms is the p99 of its first settling window, settledP99Ms of its last';
    const stages = await proxy.stages('report');
    if (stages) {
      for (const [name, s] of Object.entries(stages.stages)) {
        const key = `stage ${name}`.replace(/ (\w)/g, (_m, c: string) => c.toUpperCase());
        Object.assign(viaProxy.extra, { [`${key}P50Ms`]: s.p50, [`${key}P99Ms`]: s.p99 });
      }
      progress(
        `  privacy-proxy: stages in the proxy (${stages.requests} requests, p50 / p90 / p99 ms; the stage furthest above its median in each of the slowest 1 %): ` +
          Object.entries(stages.stages)
            .map(
              ([name, s]) =>
                `${name} ${s.p50} / ${s.p90} / ${s.p99}${name === 'total' ? '' : ` (${s.slowest})`}`,
            )
            .join('; '),
      );
    }

    // Time to first token: the harness times whole operations, so TTFT samples are kept on the side.
    const ttft = {
      direct: new LatencyHistogram(),
      proxy: new LatencyHistogram(),
      compared: new LatencyHistogram(),
    };
    const DIRECT_TTFT = 'privacy-proxy: direct upstream, stream (TTFT)';
    const streams = await runComparison(
      [
        {
          name: DIRECT_TTFT,
          op: async () => ttft.direct.record(await firstToken(upstream.url, token, streamBody())),
          durationMs: 3000,
        },
        {
          name: 'privacy-proxy: via proxy, mask, stream (TTFT)',
          baseline: DIRECT_TTFT,
          op: async () => ttft.proxy.record(await firstToken(proxyUrl, token, streamBody())),
          durationMs: 3000,
        },
        ...(compared
          ? [
              {
                name: 'privacy-proxy: via proxy, mask, stream (TTFT), compared build',
                baseline: DIRECT_TTFT,
                op: async () => ttft.compared.record(await firstToken(compared.url, token, streamBody())),
                durationMs: 3000,
              },
            ]
          : []),
      ],
      { rounds: 4 },
    );
    for (const [result, histogram] of [
      [streams[0]!, ttft.direct],
      [streams[1]!, ttft.proxy],
      ...(streams[2] ? [[streams[2], ttft.compared] as const] : []),
    ] as const) {
      result.notes = 'latency figures are time to first content token; throughput counts whole streams';
      result.latencyMs = {
        mean: round(histogram.mean(), 3),
        p50: round(histogram.percentile(50), 3),
        p95: round(histogram.percentile(95), 3),
        p99: round(histogram.percentile(99), 3),
        max: round(histogram.max, 3),
      };
    }
    streams[1]!.extra = {
      ttftOverheadP50Ms: round(streams[1]!.latencyMs.p50 - streams[0]!.latencyMs.p50, 3),
      targetTtftOverheadMs: 1,
    };
    if (viaCompared && streams[2]) {
      const added = (r: BenchResult, base: BenchResult, p: 'p50' | 'p99') =>
        round(r.latencyMs[p] - base.latencyMs[p], 3);
      progress(
        `  privacy-proxy: compared build (${compareRoot || 'this build'}${compareArgs?.length ? ` with ${compareArgs.join(' ')}` : ''}): added p50 ${added(viaCompared, direct, 'p50')} ms, ` +
          `p99 ${added(viaCompared, direct, 'p99')} ms, TTFT +${added(streams[2], streams[0]!, 'p50')} ms ` +
          `(this build: ${added(viaProxy, direct, 'p50')} / ${added(viaProxy, direct, 'p99')} / +${added(streams[1]!, streams[0]!, 'p50')} ms)`,
      );
    }

    const business = megabytesPerSecond(detector, text.repeat(64));
    const raw = Detector.forProfile(profile, { people: directory }, undefined, { normalize: false });
    const businessRaw = megabytesPerSecond(raw, text.repeat(64));
    // Disguised values take the normalisation's slow path (a per-character pass with an offset map).
    const businessDisguised = megabytesPerSecond(detector, disguised(text).repeat(64));
    const corpusText = ['pii.jsonl', 'clean.jsonl']
      .flatMap((file) => readFileSync(new URL(file, CORPUS), 'utf8').split('\n').filter(Boolean))
      .map((line) => (JSON.parse(line) as { text: string }).text)
      .join('\n');
    const corpusDetector = Detector.forProfile(profile, { people: directory });
    const dense = megabytesPerSecond(corpusDetector, corpusText.repeat(8));
    const detection = await runScenario({
      name: 'privacy: detection, 4 KB prompt',
      op: async () => detector.detect(text),
      durationMs: 1500,
      extra: {
        businessTextMBps: business.mbPerSecond,
        businessTextNormalisationOffMBps: businessRaw.mbPerSecond,
        businessTextDisguisedMBps: businessDisguised.mbPerSecond,
        denseCorpusMBps: dense.mbPerSecond,
        targetMBps: 20,
        promptBytes: Buffer.byteLength(text),
        entities: entityCount,
      },
      notes:
        'MB/s per CPU-second of one core, normalisation on unless named; dense corpus = every line of libs/privacy/corpus, ' +
        'mostly PII and numbers; disguised = the prompt with NBSP, zero-width, full-width and entity-encoded values',
    });
    progress(
      `  privacy-proxy: added p50 ${viaProxy.extra['addedP50Ms']} ms, p99 ${viaProxy.extra['addedP99Ms']} ms, proxy CPU ${viaProxy.extra['proxyCpuMsPerRequest']} ms/request (user ${viaProxy.extra['proxyUserCpuMsPerRequest']}); TTFT +${streams[1]!.extra['ttftOverheadP50Ms']} ms; ` +
        `detection ${business.mbPerSecond} MB/s (business; ${businessRaw.mbPerSecond} without normalisation, ` +
        `${businessDisguised.mbPerSecond} disguised), ${dense.mbPerSecond} MB/s (dense corpus)`,
    );
    const memoOff = await startChild({ ...role, detectionMemoEntries: 0 });
    let conversation: BenchResult[];
    try {
      // Compared with the settled proxy: settled too.
      await settleProxies(
        [{ label: 'privacy-proxy: proxy without the detection memo', child: memoOff }],
        settleCalls,
      );
      conversation = await conversationTurns(upstream.url, proxy, memoOff, token);
    } finally {
      memoOff.close();
    }
    const large = await largeRequest(upstream.url, proxy, token, profile, directory);
    return [...latency, ...streams, detection, ...conversation, ...large];
  } finally {
    proxy.close();
    compared?.close();
    upstream.close();
  }
}
