import type { Server } from 'node:http';
import type { NerHook, ProcessingBudget } from '@orgmesh/privacy';
import type { Logger } from '@orgmesh/telemetry';
import type { AuditSink } from '../audit/audit-sink.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { Governor } from '../governance/governor.js';
import type { DetectorBuilder } from '../privacy/detector-cache.js';
import type { PrivacyEngine } from '../privacy/privacy-engine.js';
import type { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import type { ProfileSource } from '../profiles/profile-source.js';

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
  /**
   * Texts whose detection results are remembered (PRIVACY_DETECTION_MEMO_ENTRIES, default 4096; 0
   * off): a conversation's history, sent again every turn, is detected once (libs/privacy DetectionMemo).
   */
  readonly detectionMemoEntries?: number;
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
  /** The proxy's masking engine, shared with the text RPCs (text-rpc/), so they mask as its model calls do. */
  readonly engine: PrivacyEngine;
  /** Starts listening; resolves to the base URL (`http://host:port`). */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}
