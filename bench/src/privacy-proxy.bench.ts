import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { LocalIssuer } from '@orgmesh/auth';
import { Detector } from '@orgmesh/privacy';
import { createLogger } from '@orgmesh/telemetry';
// The proxy is measured in process, against a scripted upstream in the same process: the same event
// loop serves client, proxy and upstream in both paths, so the difference is what the proxy adds.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  createPrivacyProxy,
  FileProfileSource,
  JoseTokenVerifier,
  RecordingAuditSink,
} from '@orgmesh/privacy-proxy';
import {
  LatencyHistogram,
  progress,
  round,
  runComparison,
  runScenario,
  type BenchResult,
} from './harness.js';

/**
 * Privacy proxy benchmarks (issue 6):
 * - added latency of a masked OpenAI chat completion (4 KB prompt, ~10 entities) over calling the
 *   scripted upstream directly, in interleaved rounds of the same run (target p50 ≤ 1 ms, p99 ≤ 3 ms);
 * - streaming time to first token through the proxy vs direct (target ≤ 1 ms overhead);
 * - detection throughput in MB/s on one core (target ≥ 20 MB/s), on business text and on the dense
 *   labelled corpus of libs/privacy.
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

/** About 4 KB of business text with 12 entities. */
function prompt(): string {
  let text = '';
  let p = 0;
  for (let i = 0; text.length < 4000; i++) {
    text += PARAGRAPHS[p++ % PARAGRAPHS.length];
    if (i % 2 === 1 && i / 2 < ENTITIES.length) text += `${ENTITIES[(i - 1) / 2]} `;
  }
  return text.slice(0, 4096);
}

const PLACEHOLDER = /\[\[[A-Z]+_[0-9a-f]{8,16}\]\]/g;

/** A scripted OpenAI-style upstream: echoes the placeholders it received, JSON or SSE (40 deltas). */
async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const found = [...new Set(body.match(PLACEHOLDER) ?? [])];
      const text = `Summary: the checklist is complete. Contacts: ${found.join(', ') || 'none'}. Next steps follow in the report.`;
      if (body.includes('"stream":true')) {
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
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function complete(url: string, token: string, body: string): Promise<void> {
  const response = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  const json = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  if (json.choices[0]!.message.content.includes('[[')) throw new Error('placeholder left in the answer');
}

/** Milliseconds from sending the request to the first non-empty content delta; drains the rest. */
async function firstToken(url: string, token: string, body: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  const decoder = new TextDecoder();
  let ttft = -1;
  let seen = '';
  for await (const chunk of response.body!) {
    if (ttft < 0) {
      seen += decoder.decode(chunk as Uint8Array, { stream: true });
      if (/"content":"[^"]/.test(seen)) ttft = performance.now() - started;
    }
  }
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

export async function run(): Promise<BenchResult[]> {
  const upstream = await startUpstream();
  const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:bench', audience: 'orgmesh' });
  const token = await issuer.sign({ sub: 'finance-agent', role: 'finance', tenant: 'acme' });
  const directory = [{ name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' }];
  const profile = { mode: 'mask' as const, employeeIdPattern: 'EMP-\\d{5}' };
  const audit = new RecordingAuditSink();
  const proxy = createPrivacyProxy({
    openai: { url: upstream.url, key: 'sk-bench' },
    verifier: JoseTokenVerifier.fromLocalJwks(issuer.jwks, {
      issuer: issuer.issuer,
      audience: issuer.audience,
    }),
    profiles: FileProfileSource.fromObject({ profiles: { finance: profile }, directory }),
    hmacKey: 'bench-hmac-key-0123456789abcdef0123456789',
    audit: { emit: (e) => (audit.events.length < 10 ? audit.emit(e) : undefined) },
    logger: createLogger({
      service: 'privacy-proxy',
      level: 'warn',
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    }),
    metrics: undefined,
  });
  const proxyUrl = `${await proxy.listen(0)}/v1`;
  const text = prompt();
  const detector = Detector.forProfile(profile, { people: directory });
  const entityCount = detector.detect(text).length;
  progress(`  privacy-proxy: prompt ${Buffer.byteLength(text)} bytes, ${entityCount} entities`);
  const jsonBody = JSON.stringify({
    model: 'bench',
    messages: [
      { role: 'system', content: 'You help the finance team.' },
      { role: 'user', content: text },
    ],
  });
  const streamBody = JSON.stringify({
    model: 'bench',
    stream: true,
    messages: [{ role: 'user', content: text }],
  });

  try {
    const DIRECT = 'privacy-proxy: direct upstream, 4 KB prompt (JSON)';
    const latency = await runComparison(
      [
        { name: DIRECT, op: () => complete(upstream.url, token, jsonBody), durationMs: 4000 },
        {
          name: `privacy-proxy: via proxy, mask, 4 KB prompt, ${entityCount} entities (JSON)`,
          baseline: DIRECT,
          op: () => complete(proxyUrl, token, jsonBody),
          durationMs: 4000,
        },
      ],
      { rounds: 4 },
    );
    const [direct, viaProxy] = latency as [BenchResult, BenchResult];
    viaProxy.extra = {
      addedP50Ms: round(viaProxy.latencyMs.p50 - direct.latencyMs.p50, 3),
      addedP99Ms: round(viaProxy.latencyMs.p99 - direct.latencyMs.p99, 3),
      targetAddedP50Ms: 1,
      targetAddedP99Ms: 3,
    };

    // Time to first token: the harness times whole operations, so TTFT samples are kept on the side.
    const ttft = { direct: new LatencyHistogram(), proxy: new LatencyHistogram() };
    const DIRECT_TTFT = 'privacy-proxy: direct upstream, stream (TTFT)';
    const streams = await runComparison(
      [
        {
          name: DIRECT_TTFT,
          op: async () => ttft.direct.record(await firstToken(upstream.url, token, streamBody)),
          durationMs: 3000,
        },
        {
          name: 'privacy-proxy: via proxy, mask, stream (TTFT)',
          baseline: DIRECT_TTFT,
          op: async () => ttft.proxy.record(await firstToken(proxyUrl, token, streamBody)),
          durationMs: 3000,
        },
      ],
      { rounds: 4 },
    );
    for (const [result, histogram] of [
      [streams[0]!, ttft.direct],
      [streams[1]!, ttft.proxy],
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

    const business = megabytesPerSecond(detector, text.repeat(64));
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
        denseCorpusMBps: dense.mbPerSecond,
        targetMBps: 20,
        promptBytes: Buffer.byteLength(text),
        entities: entityCount,
      },
      notes:
        'MB/s per CPU-second of one core; dense corpus = every line of libs/privacy/corpus, mostly PII and numbers',
    });
    progress(
      `  privacy-proxy: added p50 ${viaProxy.extra['addedP50Ms']} ms, p99 ${viaProxy.extra['addedP99Ms']} ms; TTFT +${streams[1]!.extra['ttftOverheadP50Ms']} ms; ` +
        `detection ${business.mbPerSecond} MB/s (business), ${dense.mbPerSecond} MB/s (dense corpus)`,
    );
    return [...latency, ...streams, detection];
  } finally {
    await proxy.close();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
    upstream.server.closeAllConnections();
  }
}
