// For in-process use by whole-suite tests and benchmarks; services never import each other.
export {
  startGatewayApp,
  devCredentialLines,
  GATEWAY_API_VERSION,
  type GatewayApp,
  type GatewayAppOptions,
} from './gateway.app.js';
export { loadGatewayConfig, GatewayConfigSchema, type GatewayConfig } from './gateway.config.js';
