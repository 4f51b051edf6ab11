import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, PRIVACY_CONTEXT_HEADER, type PrivacyRedactedPayload } from '@orgmesh/contracts';
import {
  binaryRuleOf,
  jsonStringContent,
  Pseudonymizer,
  type NerHook,
  type ProcessingBudget,
  type Restorer,
} from '@orgmesh/privacy';
import { context } from '@opentelemetry/api';
import {
  startHttpClientSpan,
  startHttpServerSpan,
  unexpectedErrorFields,
  type HttpClientSpan,
  type HttpServerSpan,
  type Logger,
} from '@orgmesh/telemetry';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { AuditSink } from './audit/audit-sink.js';
import type { TokenVerifier, VerifiedToken } from './auth/token-verifier.js';
import {
  callerToken,
  parseJsonBody,
  readBody,
  sendJson,
  sendProblem,
  sendProviderError,
  toAppError,
} from './http/http-io.js';
import { answerClientError } from './http/boundary.js';
import { allowListed, anthropicBeta, anthropicVersion, upstreamAccept } from './http/upstream-headers.js';
import { conversationKey } from './privacy/conversation-scope.js';
import type { DetectorBuilder } from './privacy/detector-cache.js';
import { PrivacyEngine } from './privacy/privacy-engine.js';
import { refusalError, reportRequest, type RequestReport } from './privacy/request-report.js';
import { PrivacyProxyMetrics } from './privacy-proxy.metrics.js';
import { registerDirectoryMetrics } from './profiles/directory.metrics.js';
import type { ProfileSource } from './profiles/profile-source.js';
import { AnthropicStreamRestorer } from './providers/anthropic-stream.js';
import { restoreDocument } from './providers/json-text.js';
import { collectRequest } from './providers/request-walker.js';
import { OpenAiStreamRestorer } from './providers/openai-stream.js';
import { formatSse, SseParser, type SseEvent } from './providers/sse.js';
import { governanceOf } from './governance/governance.js';
import type { GovernedCall, Governor } from './governance/governor.js';
import { GovernanceRefusal } from './governance/ledger.js';
import { checkModelPolicy } from './governance/model-policy.js';
import { factsOfJson, modelLabel, StreamUsageTap, textOfJson, type AnswerFacts } from './governance/usage.js';

export type Provider = 'openai' | 'anthropic';

export interface UpstreamConfig {
  /** Base URL (OpenAI: up to and including `/v1`; Anthropic: the host, `/v1` optional). */
  readonly url: string;
  readonly key?: string;
}

export interface PrivacyProxyOptions {
  readonly openai?: UpstreamConfig;
  readonly anthropic?: UpstreamConfig;
  readonly verifier: TokenVerifier;
  readonly profiles: ProfileSource;
  /** HMAC key of the placeholders (≥ 32 characters; the same on every replica). */
  readonly hmacKey: string;
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly ner?: NerHook;
  readonly maxBodyBytes?: number;
  /** What one request may ask of detection before it is refused with 413 (default: privacy-engine.ts). */
  readonly processingBudget?: ProcessingBudget;
  readonly upstreamTimeoutMs?: number;
  readonly metrics?: PrivacyProxyMetrics;
  /** How detectors are built (default: indexedDetectorBuilder); tests hold a build back with it. */
  readonly detectorBuilder?: DetectorBuilder;
  /**
   * LLM governance (issue 24): usage accounting, budgets, rate limits. Started with the proxy and
   * stopped with it. Without it calls are neither counted nor limited (the model policy still holds).
   */
  readonly governor?: Governor;
}

export interface PrivacyProxy {
  readonly server: Server;
  readonly metrics: PrivacyProxyMetrics;
  /** Starts listening; resolves to the base URL (`http://host:port`). */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** Scope that allows `POST /v1/privacy/mask` (administrators may also use it). */
export const MASK_SCOPE = 'orgmesh:privacy-mask';
const ADMIN_SCOPE = 'orgmesh:admin';
const SESSION_HEADER = 'x-orgmesh-session-id';

type Route =
  | 'openai.chat.completions'
  | 'anthropic.messages'
  | 'anthropic.count_tokens'
  | 'models'
  | 'privacy.scan'
  | 'privacy.mask'
  | 'health'
  | 'metrics'
  | 'not_found';

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly requestId: string;
  readonly started: bigint;
  /** Filled as the request proceeds, for the one log line at the end. */
  readonly log: Record<string, unknown>;
  /** The request's SERVER span (none for health and metrics). */
  readonly span: HttpServerSpan | undefined;
  /** The upstream call's CLIENT span, ended with the exchange (streams: after the last byte). */
  upstream?: { readonly span: HttpClientSpan; status?: number };
  /** OpenTelemetry GenAI attributes of a model call, set on both spans when the exchange ends. */
  genai?: Record<string, string | number | boolean | string[]>;
}

export const PRIVACY_PROXY_TRACER = '@orgmesh/privacy-proxy';
/** How long `/readyz` waits for the first detector build before answering 503 (probes time out at 3 s). */
const READY_WAIT_MS = 2_000;

/**
 * The privacy proxy: OpenAI- and Anthropic-compatible endpoints that mask personal data on the way
 * to the provider and restore it on the way back, on plain node:http (no framework on the hot path).
 */
export function createPrivacyProxy(options: PrivacyProxyOptions): PrivacyProxy {
  const metrics = options.metrics ?? new PrivacyProxyMetrics();
  const profiles = options.profiles;
  if (profiles.directoryStatus) registerDirectoryMetrics(metrics.registry, () => profiles.directoryStatus!());
  const engine = new PrivacyEngine(
    options.profiles,
    new Pseudonymizer(options.hmacKey),
    options.ner,
    options.processingBudget,
    {
      observer: { built: (seconds, outcome) => metrics.detectorBuild.observe({ outcome }, seconds) },
      ...(options.detectorBuilder ? { builder: options.detectorBuilder } : {}),
    },
  );
  metrics.observeDetectors(() => engine.detectorStatus());
  // A new directory's detectors are built as soon as the source loads it, not on the next request.
  const stopDirectory = profiles.onDirectory?.((directory) => engine.directoryLoaded(directory));
  const governor = options.governor;
  governor?.start();
  const maxBody = options.maxBodyBytes ?? 20 * 1024 * 1024;
  const upstreamTimeout = options.upstreamTimeoutMs ?? 600_000;
  const logger = options.logger;
  // One keep-alive pool per upstream origin; fetch's WHATWG layers cost more than the whole masking.
  const dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    connections: 256,
    headersTimeout: upstreamTimeout,
    bodyTimeout: upstreamTimeout,
  });

  const server = createServer(
    { keepAlive: true, keepAliveTimeout: 65_000, requestTimeout: 0 },
    (req, res) => {
      try {
        accept(req, res);
      } catch (error) {
        // Last resort: even setting up the exchange failed. Answer, count, log once; keep serving.
        unexpected(error, undefined);
        if (!res.headersSent) sendProviderError(res, 'openai', new AppError('internal', 'internal error'));
        else res.destroy();
      }
    },
  );
  server.on('clientError', answerClientError);

  function accept(req: IncomingMessage, res: ServerResponse): void {
    const route = routeOf(req);
    const traced = route !== 'health' && route !== 'metrics';
    const exchange: Exchange = {
      req,
      res,
      route,
      requestId: requestIdOf(headerValue(req, 'x-request-id')),
      started: process.hrtime.bigint(),
      log: {},
      span: traced ? startHttpServerSpan(PRIVACY_PROXY_TRACER, req.method ?? 'GET', req.headers) : undefined,
    };
    res.setHeader('x-request-id', exchange.requestId);
    // The closing log line runs in the request's context too, so it carries the trace id.
    const run = () =>
      handle(exchange)
        .then(
          () => finish(exchange),
          (error: unknown) => {
            if (!(error instanceof AppError)) unexpected(error, exchange);
            fail(exchange, toAppError(error));
            finish(exchange);
          },
        )
        .catch((failure: unknown) => {
          // Answering or closing failed too (a bug in the error path, in metrics or logging): end the
          // connection. Never an unhandled rejection, which would take the process down.
          unexpected(failure, exchange);
          res.destroy();
        });
    void (exchange.span ? context.with(exchange.span.context, run) : run());
  }

  /** An error nobody expected (a bug): counted and logged once, with the trace id the logger adds. */
  function unexpected(error: unknown, x: Exchange | undefined): void {
    metrics.unexpectedErrors.inc({ edge: 'http' });
    logger.error(
      { ...(x ? { requestId: x.requestId, route: x.route } : {}), ...unexpectedErrorFields(error) },
      'unexpected error',
    );
  }

  async function handle(x: Exchange): Promise<void> {
    switch (x.route) {
      case 'health':
        if (x.req.url?.startsWith('/readyz')) {
          // The file source announces nothing: its one directory starts building here.
          engine.directoryLoaded(await options.profiles.getDirectory());
          // Ready while a dictionary is in use, even a stale one (the registry down), and once detectors
          // are built for it, so that no call is sent here to wait for the first build (a small org's
          // is built within this wait; 100k people take seconds). Details say which org version.
          const [detectorsReady, storeSynced] = await Promise.all([
            engine.detectorsReady(READY_WAIT_MS),
            // Budgets and limits need the shared counters read once; afterwards an outage of the store
            // does not make the replica unready (profiles decide, most calls need no store at all).
            governor ? governor.ledger.synced(READY_WAIT_MS) : Promise.resolve(true),
          ]);
          const ready = detectorsReady && storeSynced;
          const directory = options.profiles.directoryStatus?.();
          const detector = engine.detectorStatus();
          sendJson(x.res, ready ? 200 : 503, {
            status: ready ? 'ready' : 'not_ready',
            details: {
              ...(directory ? { directory } : {}),
              detector,
              ...(governor
                ? { budgetStore: { synced: storeSynced, healthy: governor.ledger.storeHealthy() } }
                : {}),
            },
          });
        } else sendJson(x.res, 200, { status: 'ok' });
        return;
      case 'metrics': {
        const body = await metrics.registry.metrics();
        x.res.writeHead(200, { 'content-type': metrics.registry.contentType });
        x.res.end(body);
        return;
      }
      case 'models':
        return models(x);
      case 'openai.chat.completions':
        return completion(x, 'openai', true);
      case 'anthropic.messages':
        return completion(x, 'anthropic', true);
      case 'anthropic.count_tokens':
        return completion(x, 'anthropic', false);
      case 'privacy.scan':
      case 'privacy.mask':
        return utility(x);
      case 'not_found':
        throw new AppError('not_found', 'no such endpoint');
    }
  }

  function providerOf(x: Exchange): Provider | undefined {
    if (x.route === 'openai.chat.completions') return 'openai';
    if (x.route === 'anthropic.messages' || x.route === 'anthropic.count_tokens') return 'anthropic';
    if (x.route === 'models') return x.req.headers['anthropic-version'] ? 'anthropic' : 'openai';
    return undefined;
  }

  function fail(x: Exchange, error: AppError): void {
    x.log['code'] = error.code;
    if (x.res.headersSent) {
      // Mid-stream: the status is gone; end the stream (restorers already flushed safely).
      x.res.end();
      return;
    }
    const provider = providerOf(x);
    if (error instanceof GovernanceRefusal) {
      if (error.retryAfterSeconds !== undefined)
        x.res.setHeader('retry-after', String(error.retryAfterSeconds));
      // The official SDKs retry 429 and 503 unless told not to: a spent budget does not come back in seconds.
      x.res.setHeader('x-should-retry', error.final ? 'false' : 'true');
    }
    if (provider) sendProviderError(x.res, provider, error);
    else sendProblem(x.res, error);
  }

  function finish(x: Exchange): void {
    const seconds = Number(process.hrtime.bigint() - x.started) / 1e9;
    const status = x.res.statusCode;
    metrics.requests.inc({ route: x.route, status: String(status) });
    if (x.route !== 'health' && x.route !== 'metrics') metrics.duration.observe({ route: x.route }, seconds);
    const fields = {
      requestId: x.requestId,
      route: x.route,
      status,
      durationMs: Math.round(seconds * 1e4) / 10,
      ...x.log,
    };
    if (status >= 500) logger.warn(fields, 'request failed');
    else if (x.route !== 'health' && x.route !== 'metrics') logger.info(fields, 'request completed');
    if (x.genai) {
      for (const [key, value] of Object.entries(x.genai)) {
        x.span?.span.setAttribute(key, value);
        x.upstream?.span.span.setAttribute(key, value);
      }
    }
    if (x.upstream) {
      const upstream = x.upstream;
      upstream.span.end(x.log['streamError'] ? { error: 'stream_broken' } : { status: upstream.status ?? 0 });
    }
    if (x.span) {
      // Counts and outcomes only: what was found is never named with its value.
      if (typeof x.log['entities'] === 'number')
        x.span.span.setAttribute('orgmesh.privacy.entities', x.log['entities']);
      if (typeof x.log['outcome'] === 'string')
        x.span.span.setAttribute('orgmesh.privacy.outcome', x.log['outcome']);
      if (typeof x.log['code'] === 'string') x.span.span.setAttribute('error.type', x.log['code']);
      x.span.end(ROUTE_PATHS[x.route], status);
    }
  }

  async function authenticate(x: Exchange): Promise<VerifiedToken> {
    const token = callerToken(x.req);
    if (!token)
      throw new AppError('unauthenticated', 'missing token: send your orgmesh token as Bearer or x-api-key');
    const verified = await options.verifier.verify(token);
    x.log['role'] = verified.role;
    x.log['agentId'] = verified.sub;
    return verified;
  }

  function upstreamFor(provider: Provider): UpstreamConfig {
    const upstream = provider === 'openai' ? options.openai : options.anthropic;
    if (!upstream) throw new AppError('unavailable', `no ${provider} upstream is configured`);
    return upstream;
  }

  function upstreamUrl(provider: Provider, path: string, query: string): string {
    const base = upstreamFor(provider).url.replace(/\/+$/, '');
    if (provider === 'openai') return `${base}${path}${query}`;
    return `${base.endsWith('/v1') ? base : `${base}/v1`}${path}${query}`;
  }

  function upstreamHeaders(provider: Provider, req: IncomingMessage): Record<string, string> {
    const upstream = upstreamFor(provider);
    // identity: the answer must be readable to be restored (and undici does not decompress).
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: upstreamAccept(headerValue(req, 'accept')),
      'accept-encoding': 'identity',
    };
    if (provider === 'openai') {
      if (upstream.key) headers['authorization'] = `Bearer ${upstream.key}`;
    } else {
      if (upstream.key) headers['x-api-key'] = upstream.key;
      headers['anthropic-version'] = anthropicVersion(headerValue(req, 'anthropic-version'));
      const beta = anthropicBeta(headerValue(req, 'anthropic-beta'));
      if (beta) headers['anthropic-beta'] = beta;
    }
    return headers;
  }

  /** The upstream's answer: status, one value per header, and the body stream. */
  interface UpstreamResponse {
    readonly status: number;
    header(name: string): string | undefined;
    readonly body: Dispatcher.ResponseData['body'];
  }

  async function forward(
    x: Exchange,
    provider: Provider,
    url: string,
    init: { method: 'GET' | 'POST'; body?: string | Buffer },
  ): Promise<UpstreamResponse> {
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new AppError('timeout', `${provider} upstream timed out`)),
      upstreamTimeout,
    );
    timer.unref();
    x.res.once('close', () => {
      clearTimeout(timer);
      if (!x.res.writableFinished) abort.abort(new AppError('unavailable', 'client went away'));
    });
    const clientSpan = startHttpClientSpan(PRIVACY_PROXY_TRACER, init.method, new URL(url), {
      'orgmesh.upstream.provider': provider,
    });
    const upstream: { span: HttpClientSpan; status?: number } = { span: clientSpan };
    x.upstream = upstream;
    try {
      const response = await undiciRequest(url, {
        method: init.method,
        // No trace context goes upstream: orgmesh's trace id would let the provider link a workflow's
        // calls (upstream-headers.ts). The client span stays in orgmesh's own trace.
        headers: allowListed(upstreamHeaders(provider, x.req)),
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: abort.signal,
        dispatcher,
      });
      upstream.status = response.statusCode;
      const headers = response.headers;
      return {
        status: response.statusCode,
        header: (name) => {
          const value = headers[name];
          return Array.isArray(value) ? value[0] : value;
        },
        body: response.body,
      };
    } catch (cause) {
      metrics.upstreamErrors.inc({ provider });
      const timedOut =
        abort.signal.aborted &&
        abort.signal.reason instanceof AppError &&
        abort.signal.reason.code === 'timeout';
      clientSpan.end({ error: timedOut ? 'timeout' : 'unavailable' });
      throw new AppError(
        timedOut ? 'timeout' : 'unavailable',
        `${provider} upstream ${timedOut ? 'timed out' : 'unreachable'}`,
        { cause },
      );
    }
  }

  async function models(x: Exchange): Promise<void> {
    await authenticate(x);
    const provider = providerOf(x)!;
    const response = await forward(
      x,
      provider,
      upstreamUrl(provider, '/models', modelsQuery(queryOf(x.req))),
      {
        method: 'GET',
      },
    );
    const body = Buffer.from(await response.body.arrayBuffer());
    x.res.writeHead(response.status, {
      'content-type': response.header('content-type') ?? 'application/json',
      'content-length': body.length,
    });
    x.res.end(body);
  }

  async function completion(x: Exchange, provider: Provider, restoreAnswer: boolean): Promise<void> {
    if (x.req.method !== 'POST') throw new AppError('not_found', 'use POST');
    const verified = await authenticate(x);
    const raw = await readBody(x.req, maxBody);
    const document = parseJsonBody(raw);
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new AppError('validation_failed', 'request body must be a JSON object');
    }
    const doc = document as Record<string, unknown>;
    // The workflow scopes the placeholders (pseudonym scope, libs/privacy pseudonymKeyScope); without
    // one, the session, else the conversation.
    const workflow = workflowOf(x.req, () => conversationKey(verified.sub, doc));
    const privacy = await engine.forCaller(verified, verified.tenant, workflow);
    const requestModel = typeof doc['model'] === 'string' ? doc['model'] : '';
    const governance = governanceOf(privacy.profile);
    // A model call: the model policy, then budgets and rate limits, all before any masking work.
    const modelCall = x.route !== 'anthropic.count_tokens';
    if (modelCall) {
      const streaming = doc['stream'] === true;
      x.genai = {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': provider,
        'gen_ai.system': provider,
        'gen_ai.request.model': modelLabel(requestModel),
        'orgmesh.llm.streaming': streaming,
      };
    }
    if (governance) {
      try {
        checkModelPolicy(governance, provider, requestModel);
      } catch (error) {
        metrics.llmRefusals.inc({ reason: 'model_policy' });
        throw error;
      }
    }
    let call: GovernedCall | undefined;
    if (modelCall && governor) {
      call = await governor.admit(
        {
          tenant: verified.tenant,
          agentId: verified.sub,
          role: verified.role,
          ...(governance ? { profileId: governance.profileId } : {}),
          sessionId: idShaped(headerValue(x.req, SESSION_HEADER), 200) ?? '',
          workflowId: idShaped(headerValue(x.req, PRIVACY_CONTEXT_HEADER), 200) ?? '',
          provider,
          model: modelLabel(requestModel),
        },
        governance?.llm,
        { bytes: raw.length, document: doc },
      );
    }
    const partial: PartialAnswer = {};
    try {
      const facts = await forwardCompletion(
        x,
        provider,
        restoreAnswer,
        verified,
        raw,
        doc,
        privacy,
        call,
        partial,
      );
      if (call && facts) {
        const usage = await call.finish(facts.answer, facts.texts());
        if (usage && x.genai) {
          x.genai['gen_ai.usage.input_tokens'] = usage.inputTokens;
          x.genai['gen_ai.usage.output_tokens'] = usage.outputTokens;
          x.genai['orgmesh.llm.usage_estimated'] = usage.estimated;
        }
      }
    } catch (error) {
      // Refused or unreachable: nothing was used, the reservation goes. A stream that broke off counts
      // what it carried (its usage if it came, else estimated from its text).
      const started = partial.stream?.();
      await call?.finish(started?.answer, started?.texts()).catch(() => undefined);
      throw error;
    }
  }

  /** Masks, forwards and restores one completion; what the answer said about usage, for accounting. */
  async function forwardCompletion(
    x: Exchange,
    provider: Provider,
    restoreAnswer: boolean,
    verified: VerifiedToken,
    raw: Buffer,
    document: Record<string, unknown>,
    privacy: Awaited<ReturnType<PrivacyEngine['forCaller']>>,
    call: GovernedCall | undefined,
    partial: PartialAnswer,
  ): Promise<CompletionFacts | undefined> {
    const path =
      x.route === 'openai.chat.completions'
        ? '/chat/completions'
        : x.route === 'anthropic.count_tokens'
          ? '/messages/count_tokens'
          : '/messages';
    let body: string | Buffer = raw;
    let query = queryOf(x.req);
    let restorer: Restorer | undefined;
    let jsonRestorer: Restorer | undefined;
    // OpenAI sends a stream's usage only when asked: the proxy asks, and drops that extra chunk again
    // for a client that did not ask for it. Set before masking, so the body is serialised once.
    let dropUsageChunk = false;
    if (call && provider === 'openai' && document['stream'] === true) {
      const options = document['stream_options'];
      const asked =
        typeof options === 'object' &&
        options !== null &&
        (options as Record<string, unknown>)['include_usage'] === true;
      if (!asked) {
        document['stream_options'] = {
          ...(typeof options === 'object' && options !== null ? options : {}),
          include_usage: true,
        };
        dropUsageChunk = true;
      }
    }
    if (privacy.active) {
      const session = privacy.session;
      const profile = privacy.profile;
      // Every field by the channel table, the query string included; all texts in ONE masking call,
      // so values split across parts and messages are seen together.
      const collected = collectRequest(document, query, {
        binary: binaryRuleOf(profile),
        unknownFields: profile.unknownFields ?? 'scan',
      });
      // Refused for its unknown fields: nothing is scanned, nothing forwarded.
      const applied = collected.unknownRefused
        ? undefined
        : collected.apply(await session.processAllAsync(collected.texts));
      const report = reportRequest(session, collected, applied);
      recordFindings(report);
      if (x.genai) {
        // Counts only, never what was found.
        x.genai['orgmesh.privacy.masked_count'] = sum(report.masked);
        x.genai['orgmesh.privacy.passed_count'] = sum(report.passed);
        x.genai['orgmesh.privacy.refused_count'] = sum(report.refused);
      }
      if (report.notable) {
        x.log['outcome'] = report.outcome;
        x.log['entities'] = session.total;
        if (report.refusal) x.log['refusal'] = report.refusal;
        audit({ verified, x, mode: profile.mode, report, endpoint: x.route });
      }
      if (report.refusal || !applied) {
        metrics.refusals.inc({ route: x.route });
        throw refusalError(report, verified.role, session.strictTypes);
      }
      // Always the document that was scanned, never the raw bytes: a duplicate key
      // (`{"content":"<value>","content":"hi"}`) parses to its last value, and the raw bytes would carry
      // the first one out unscanned (and a provider's parser may read that one).
      body = JSON.stringify(document);
      query = applied.query;
      // Types and media types only, never values: what the caller's profile let out as it was.
      const passed = Object.keys(report.passed).sort();
      if (passed.length > 0) x.res.setHeader(PASSED_HEADER, passed.join(','));
      const unscanned = Object.keys(report.unscanned).sort();
      if (unscanned.length > 0) x.res.setHeader(UNSCANNED_HEADER, unscanned.join(','));
      if (session.mapping.size > 0 && restoreAnswer) {
        restorer = session.restorer();
        jsonRestorer = session.restorer({ encode: jsonStringContent });
      }
    }
    if (dropUsageChunk && !privacy.active) body = JSON.stringify(document);
    metrics.overhead.observe({ route: x.route }, Number(process.hrtime.bigint() - x.started) / 1e9);
    const response = await forward(x, provider, upstreamUrl(provider, path, query), {
      method: 'POST',
      body,
    });
    x.log['upstreamStatus'] = response.status;
    const contentType = response.header('content-type') ?? 'application/json';
    const passHeaders: Record<string, string> = {};
    for (const name of PASSED_HEADERS) {
      const value = response.header(name);
      if (value !== undefined) passHeaders[name] = value;
    }
    const sent = body;
    if (contentType.includes('text/event-stream')) {
      const tap = call ? new StreamUsageTap(provider) : undefined;
      if (tap && response.status < 300)
        partial.stream = () => ({
          answer: tap.result(),
          texts: () => ({ request: String(sent), answer: tap.keptText().text }),
        });
      await relayStream(x, provider, response, passHeaders, restorer, jsonRestorer, tap, dropUsageChunk);
      if (!tap) return undefined;
      const answer = tap.result();
      noteAnswer(x, answer);
      return {
        answer: response.status < 300 ? answer : { finishReasons: [], usage: ZERO_USAGE },
        texts: () => ({ request: String(sent), answer: tap.keptText().text }),
      };
    }
    const text = await response.body.text();
    let out = text;
    let parsed: unknown;
    if ((restorer && jsonRestorer) || call) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    // Facts before restoring: usage and model are numbers and ids, and the answer text is estimated as sent.
    const answer = call && response.status < 300 ? factsOfJson(provider, parsed) : undefined;
    const answerText = call && answer && !answer.usage ? textOfJson(parsed) : '';
    if (restorer && jsonRestorer && contentType.includes('json')) {
      if (parsed !== undefined) {
        restoreDocument(parsed, restorer, jsonRestorer);
        out = JSON.stringify(parsed);
      } else out = restorer.restore(text);
    }
    x.res.writeHead(response.status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(out),
      ...passHeaders,
    });
    x.res.end(out);
    if (!call) return undefined;
    if (answer) noteAnswer(x, answer);
    // A provider error used nothing the proxy can know of: counted as a call without tokens.
    return {
      answer: answer ?? { finishReasons: [], usage: ZERO_USAGE },
      texts: () => ({ request: String(sent), answer: answerText }),
    };
  }

  function noteAnswer(x: Exchange, answer: AnswerFacts): void {
    if (!x.genai) return;
    if (answer.model) x.genai['gen_ai.response.model'] = modelLabel(answer.model);
    if (answer.finishReasons.length > 0)
      x.genai['gen_ai.response.finish_reasons'] = answer.finishReasons.slice(0, 16);
  }

  async function relayStream(
    x: Exchange,
    provider: Provider,
    response: UpstreamResponse,
    headers: Record<string, string>,
    restorer: Restorer | undefined,
    jsonRestorer: Restorer | undefined,
    tap: StreamUsageTap | undefined,
    dropUsageChunk: boolean,
  ): Promise<void> {
    x.res.writeHead(response.status, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...headers,
    });
    x.res.flushHeaders();
    const body = response.body;
    if ((!restorer || !jsonRestorer) && !tap) {
      // Nothing was masked and nothing is counted: relay the bytes as they come.
      for await (const chunk of body) await write(x.res, chunk as Uint8Array);
      x.res.end();
      return;
    }
    const transformer =
      restorer && jsonRestorer
        ? provider === 'openai'
          ? new OpenAiStreamRestorer(restorer, jsonRestorer)
          : new AnthropicStreamRestorer(restorer, jsonRestorer)
        : undefined;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    // Without a restorer and without a chunk to drop, the upstream's bytes go out as they came and the
    // parser only reads along for the usage.
    const passBytes = !transformer && !dropUsageChunk;
    const emit = async (events: SseEvent[]) => {
      let out = '';
      for (const event of events) {
        if (tap?.observe(event) && dropUsageChunk) continue;
        if (passBytes) continue;
        out += transformer ? transformer.transform(event) : formatSse(event);
      }
      if (out.length > 0) await write(x.res, out);
    };
    try {
      for await (const chunk of body) {
        const bytes = chunk as Uint8Array;
        const events = parser.push(decoder.decode(bytes, { stream: true }));
        if (passBytes) await write(x.res, bytes);
        await emit(events);
      }
      await emit(parser.push(decoder.decode()));
      await emit(parser.end());
    } catch (cause) {
      metrics.upstreamErrors.inc({ provider });
      x.log['streamError'] = true;
      // Flush what is held back with the end-of-stream rule (no fragment leaves), then end.
      const rest = transformer?.finish();
      if (rest) await write(x.res, rest).catch(() => undefined);
      throw new AppError('unavailable', `${provider} upstream stream broke off`, { cause });
    }
    const rest = transformer?.finish();
    if (rest) await write(x.res, rest);
    x.res.end();
  }

  async function utility(x: Exchange): Promise<void> {
    if (x.req.method !== 'POST') throw new AppError('not_found', 'use POST');
    const verified = await authenticate(x);
    const isAdmin = verified.scopes.includes(ADMIN_SCOPE);
    if (x.route === 'privacy.mask' && !isAdmin && !verified.scopes.includes(MASK_SCOPE)) {
      throw new AppError('forbidden', `masking on request needs the ${MASK_SCOPE} scope`);
    }
    const input = parseJsonBody(await readBody(x.req, maxBody)) as { text?: unknown; role?: unknown };
    if (typeof input !== 'object' || input === null || typeof input.text !== 'string') {
      throw new AppError('validation_failed', 'expected {"text": string, "role"?: string}', {
        details: { issues: [{ path: 'text', message: 'required string' }] },
      });
    }
    if (input.role !== undefined && input.role !== verified.role && !isAdmin)
      throw new AppError('forbidden', "only administrators may use another role's profile");
    const role = typeof input.role === 'string' ? input.role : verified.role;
    // The caller's own profile (its agent's, where the registry names one); another role's: its default.
    const privacy = await engine.forCaller(
      role === verified.role ? verified : { role },
      verified.tenant,
      workflowOf(x.req),
    );
    const detector = await engine.detector(privacy.profile);
    const entities = (await detector.detectAsync(input.text)).map(({ type, start, end, score }) => ({
      type,
      start,
      end,
      score,
    }));
    if (x.route === 'privacy.scan') {
      sendJson(x.res, 200, { role, entities });
      return;
    }
    const [text] = await privacy.session.processAllAsync([input.text]);
    sendJson(x.res, 200, {
      role,
      text,
      entities,
      counts: privacy.session.counts,
      masked: privacy.session.masked,
    });
  }

  function recordFindings(report: RequestReport): void {
    for (const [type, n] of Object.entries(report.masked))
      metrics.redactions.inc({ entity_type: type, action: 'mask' }, n);
    for (const [type, n] of Object.entries(report.passed))
      metrics.redactions.inc({ entity_type: type, action: 'detect' }, n);
    for (const [type, n] of Object.entries(report.refused))
      metrics.redactions.inc({ entity_type: type, action: 'strict' }, n);
    for (const [media, n] of Object.entries(report.unscanned))
      metrics.unscanned.inc({ media_type: media }, n);
  }

  function audit(input: {
    verified: VerifiedToken;
    x: Exchange;
    mode: PrivacyRedactedPayload['mode'];
    report: RequestReport;
    endpoint: string;
  }): void {
    const report = input.report;
    // Id-shaped only: the audit holds no free text a client wrote (an address as a session id).
    const sessionId = idShaped(headerValue(input.x.req, SESSION_HEADER), 200);
    const event: PrivacyRedactedPayload = {
      eventId: randomUUID(),
      role: input.verified.role,
      agentId: input.verified.sub,
      ...(sessionId ? { sessionId } : {}),
      tenant: input.verified.tenant,
      mode: input.mode,
      outcome: report.outcome,
      counts: report.counts,
      maskedCounts: report.masked,
      passedCounts: report.passed,
      refusedCounts: report.refused,
      ...(Object.keys(report.unscanned).length > 0 ? { unscanned: report.unscanned } : {}),
      ...(report.refusal ? { refusal: report.refusal } : {}),
      endpoint: input.endpoint,
      occurredAt: new Date().toISOString(),
    };
    try {
      options.audit.emit(event);
    } catch (error) {
      logger.error(
        { requestId: input.x.requestId, err: error instanceof Error ? error.name : 'unknown' },
        'audit sink failed',
      );
    }
  }

  return {
    server,
    metrics,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(
            `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
          );
        });
      });
    },
    async close() {
      stopDirectory?.();
      await governor?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await dispatcher.close();
    },
  };
}

interface CompletionFacts {
  readonly answer: AnswerFacts | undefined;
  readonly texts: () => { request: string; answer: string };
}

/** What a stream carried before it broke off. */
interface PartialAnswer {
  stream?: () => CompletionFacts;
}

const ZERO_USAGE = {
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  estimated: false,
};

function sum(counts: Record<string, number>): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}

/** The `http.route` of each route (the canonical path; aliases share it). */
const ROUTE_PATHS: Record<Route, string> = {
  'openai.chat.completions': '/v1/chat/completions',
  'anthropic.messages': '/v1/messages',
  'anthropic.count_tokens': '/v1/messages/count_tokens',
  models: '/v1/models',
  'privacy.scan': '/v1/privacy/scan',
  'privacy.mask': '/v1/privacy/mask',
  health: '/healthz',
  metrics: '/metrics',
  not_found: 'unmatched',
};

const PASSED_HEADERS = [
  'retry-after',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'anthropic-ratelimit-requests-remaining',
];

/** Response header: entity types the caller's profile let through unmasked (`detect`), never values. */
export const PASSED_HEADER = 'orgmesh-privacy-passed';
/** Response header: media types of binary parts forwarded unscanned (profile `binary: allow`). */
export const UNSCANNED_HEADER = 'orgmesh-privacy-unscanned';

function routeOf(req: IncomingMessage): Route {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(/\/+$/, '') || '/';
  switch (path) {
    case '/v1/chat/completions':
    case '/chat/completions':
      return 'openai.chat.completions';
    case '/v1/messages':
      return 'anthropic.messages';
    case '/v1/messages/count_tokens':
      return 'anthropic.count_tokens';
    case '/v1/models':
    case '/models':
      return req.method === 'GET' ? 'models' : 'not_found';
    case '/v1/privacy/scan':
      return 'privacy.scan';
    case '/v1/privacy/mask':
      return 'privacy.mask';
    case '/healthz':
    case '/readyz':
      return 'health';
    case '/metrics':
      return 'metrics';
    default:
      return 'not_found';
  }
}

function queryOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q);
}

/**
 * The model list's query: its paging parameters with id-shaped values, nothing else. The list holds no
 * personal data and the proxy scans no body here, so nothing else a caller appends is forwarded.
 */
function modelsQuery(query: string): string {
  const kept = new URLSearchParams();
  for (const [key, value] of new URLSearchParams(query.slice(1)))
    if (['limit', 'before_id', 'after_id'].includes(key) && idShaped(value, 128)) kept.append(key, value);
  const text = kept.toString();
  return text ? `?${text}` : '';
}

/**
 * The caller's `x-request-id` when it is id-shaped; a fresh one otherwise. It is logged on every line,
 * so free text from a client (an address, a sentence) must not become it.
 */
function requestIdOf(value: string | undefined): string {
  return idShaped(value, 128) ?? randomUUID();
}

/** `value` if it looks like an id (letters, digits, `_.:-`, 1 to `max` characters), else undefined. */
function idShaped(value: string | undefined, max: number): string | undefined {
  return value !== undefined && value.length <= max && /^[A-Za-z0-9_.:-]+$/.test(value) ? value : undefined;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function write(res: ServerResponse, chunk: string | Uint8Array): Promise<void> {
  if (res.destroyed) return Promise.reject(new AppError('unavailable', 'client went away'));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new AppError('unavailable', 'client went away'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/**
 * What the request belongs to, for the scope of its placeholders: its workflow, session, conversation.
 * The conversation is the last fallback (pseudonymKeyScope), so its key is hashed only when the
 * request names neither a workflow nor a session.
 */
function workflowOf(
  req: IncomingMessage,
  conversationOf?: () => string | undefined,
): { contextId?: string; sessionId?: string; conversation?: string } {
  const contextId = headerValue(req, PRIVACY_CONTEXT_HEADER)?.slice(0, 200);
  const sessionId = headerValue(req, SESSION_HEADER)?.slice(0, 200);
  const conversation = contextId || sessionId ? undefined : conversationOf?.();
  return {
    ...(contextId ? { contextId } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(conversation ? { conversation } : {}),
  };
}
