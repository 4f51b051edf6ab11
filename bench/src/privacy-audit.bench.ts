import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { LocalIssuer } from '@orgmesh/auth';
import type { PrivacyRedactedPayload } from '@orgmesh/contracts';
import { connectBus } from '@orgmesh/messaging';
// The proxy in process, as privacy-proxy.child.ts runs it: what is measured is the proxy's own path.
import {
  AuditSpool,
  createPrivacyProxy,
  FileProfileSource,
  JoseTokenVerifier,
  NatsAuditSink,
  RecordingAuditSink,
  type AuditSink,
  type PrivacyProxy,
} from '@orgmesh/privacy-proxy/testing';
import { createLogger } from '@orgmesh/telemetry';
import { benchEnv, benchNamespace, progress, runComparison, type BenchResult } from './harness.js';

/**
 * What the durable privacy audit (ADR 0013) costs a model call: every masked request appends its
 * audit event to the local spool (one write(2)) before it is answered, and a loop publishes from the
 * spool to JetStream. Measured in the same run against an in-memory sink (the baseline):
 * - `emit` alone, the part on the request path;
 * - a masked chat completion through the proxy (in process, scripted upstream), at 8 concurrent callers.
 */

const PROMPT =
  'Escalate to Jane Doe (jane.doe@acme.example) if the supplier does not answer; refunds go to ' +
  'IBAN DE89 3704 0044 0532 0130 00 and the payroll correction concerns SSN 123-45-6789.';

function sampleEvent(sequence: number): PrivacyRedactedPayload {
  return {
    eventId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    role: 'finance',
    agentId: 'finance-agent',
    tenant: 'acme',
    mode: 'mask',
    outcome: 'masked',
    counts: { email: 1, person: 1, iban: 1, ssn: 1 },
    maskedCounts: { email: 1, person: 1, iban: 1, ssn: 1 },
    endpoint: 'openai.chat.completions',
    occurredAt: new Date().toISOString(),
  };
}

async function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        id: 'chatcmpl-bench',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Noted.' }, finish_reason: 'stop' }],
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1` };
}

export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const ns = await benchNamespace('audit');
  const logger = createLogger({
    service: 'privacy-audit-bench',
    level: 'silent',
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const bus = await connectBus({
    url: env.natsUrl,
    name: 'privacy-proxy',
    subjectPrefix: ns.subjectPrefix,
    nameSuffix: ns.nameSuffix,
    logger,
  });
  await bus.ensureStream('privacy');
  const spoolDir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  const sink = new NatsAuditSink(bus, AuditSpool.open({ dir: spoolDir }), logger);
  sink.start();
  const memory = new RecordingAuditSink();
  const upstream = await startUpstream();
  const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:bench', audience: 'orgmesh' });
  const token = await issuer.sign({
    sub: 'finance-agent',
    role: 'finance',
    tenant: 'acme',
    scope: 'orgmesh:agent',
  });
  const proxyWith = async (audit: AuditSink): Promise<{ proxy: PrivacyProxy; url: string }> => {
    const proxy = createPrivacyProxy({
      openai: { url: upstream.url },
      verifier: JoseTokenVerifier.fromLocalJwks(issuer.jwks, {
        issuer: issuer.issuer,
        audience: issuer.audience,
      }),
      profiles: FileProfileSource.fromObject({
        profiles: { finance: { mode: 'mask' } },
        directory: [{ name: 'Jane Doe', email: 'jane.doe@acme.example' }],
      }),
      hmacKey: 'bench-hmac-key-0123456789abcdef0123456789',
      audit,
      logger,
    });
    return { proxy, url: await proxy.listen(0) };
  };
  const memoryProxy = await proxyWith({
    emit: (event) => memory.events.length < 1_000 && memory.emit(event),
  });
  const spoolProxy = await proxyWith(sink);
  const body = JSON.stringify({ model: 'gpt-bench', messages: [{ role: 'user', content: PROMPT }] });
  const call = (url: string) => async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    });
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    await response.text();
  };
  try {
    progress('privacy-audit: emit');
    const emits = await runComparison([
      {
        name: 'audit emit, in memory',
        op: async (_w, sequence) => {
          if (memory.events.length >= 1_000) memory.events.length = 0;
          memory.emit(sampleEvent(sequence));
        },
      },
      {
        name: 'audit emit, spool (write(2))',
        baseline: 'audit emit, in memory',
        op: async (_w, sequence) => sink.emit(sampleEvent(sequence)),
      },
    ]);
    progress('privacy-audit: masked chat completions');
    const calls = await runComparison([
      { name: 'masked call, in-memory audit', concurrency: 8, op: call(memoryProxy.url) },
      {
        name: 'masked call, spooled audit to JetStream',
        baseline: 'masked call, in-memory audit',
        concurrency: 8,
        op: call(spoolProxy.url),
      },
    ]);
    const started = performance.now();
    await sink.flush();
    const drainMs = Math.round(performance.now() - started);
    return [...emits, ...calls].map((result) => ({
      ...result,
      extra: { ...(result.extra ?? {}), spoolDrainAfterMs: drainMs },
    }));
  } finally {
    await memoryProxy.proxy.close();
    await spoolProxy.proxy.close();
    await sink.stop();
    await bus.close();
    await new Promise((resolve) => upstream.server.close(resolve));
    rmSync(spoolDir, { recursive: true, force: true });
    await ns.dispose();
  }
}
