export { LogAuditSink, RecordingAuditSink } from './audit/audit-sink.js';
export type { AuditSink } from './audit/audit-sink.js';
export { JoseTokenVerifier } from './auth/token-verifier.js';
export type { TokenVerifier, VerifiedToken } from './auth/token-verifier.js';
export { FileProfileSource } from './profiles/profile-source.js';
export type { ProfileSource } from './profiles/profile-source.js';
export { RegistryProfileSource, toPrivacyProfile } from './profiles/registry-profile-source.js';
export type { RegistryProfileSourceOptions } from './profiles/registry-profile-source.js';
export { NatsRegistryReader } from './profiles/registry-reader.js';
export type { RegistryChange, RegistryReader } from './profiles/registry-reader.js';
export { createPrivacyProxy, MASK_SCOPE } from './privacy-proxy.server.js';
export type { PrivacyProxy, PrivacyProxyOptions, Provider, UpstreamConfig } from './privacy-proxy.server.js';
export { loadPrivacyProxyConfig, PrivacyProxyConfigSchema } from './privacy-proxy.config.js';
export type { PrivacyProxyConfig } from './privacy-proxy.config.js';
export { PrivacyProxyMetrics } from './privacy-proxy.metrics.js';
export { NatsAuditSink } from './audit/nats-audit-sink.js';
export { AuditSpool } from './audit/audit-spool.js';
export { attachGovernance, governanceOf } from './governance/governance.js';
export type { ProfileGovernance } from './governance/governance.js';
export { Governor } from './governance/governor.js';
export type { GovernorOptions } from './governance/governor.js';
export { MemoryCounterStore, PostgresCounterStore } from './governance/counter-store.js';
export { MemoryUsageStore, PostgresUsageStore } from './governance/usage-store.js';
export { serveUsage } from './governance/usage-rpc.js';
export { budgetWarningPublisher } from './governance/warnings.js';
export {
  MemoryRedactionStore,
  PostgresRedactionStore,
  RedactionRecorder,
  teeAudit,
} from './redactions/redaction-store.js';
export type { RedactionStore } from './redactions/redaction-store.js';
export { serveRedactions } from './redactions/redactions-rpc.js';
export { startPrivacyProxyApp } from './privacy-proxy.app.js';
export type { PrivacyProxyApp } from './privacy-proxy.app.js';
