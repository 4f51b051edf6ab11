import type { Logger } from '@orgmesh/telemetry';
import type { Governor } from '../governance/governor.js';
import type { PrivacyEngine } from '../privacy/privacy-engine.js';
import type { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import type { PrivacyProxyOptions } from './options.js';
import type { UpstreamClient } from './upstream.js';

/**
 * What every unit of the request path shares, built once by createPrivacyProxy. Passed as the first
 * argument instead of closed over, so each unit is a plain module that can be read on its own.
 */
export interface ProxyContext {
  readonly options: PrivacyProxyOptions;
  readonly engine: PrivacyEngine;
  readonly metrics: PrivacyProxyMetrics;
  readonly logger: Logger;
  readonly governor: Governor | undefined;
  readonly maxBody: number;
  readonly upstream: UpstreamClient;
}

/** The privacy engine's answer for one caller: its profile and its masking session. */
export type CallerPrivacy = Awaited<ReturnType<PrivacyEngine['forCaller']>>;
