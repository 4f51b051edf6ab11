export {
  MeshAgent,
  isDecisionResult,
  isTerminal,
  type AgentCredentials,
  type CreateOptions,
  type HandlerResult,
  type ListFilter,
  type MeshAgentOptions,
  type NotificationHandler,
  type TaskContext,
  type TaskHandler,
  type TaskUpdateListener,
} from './mesh-agent.js';
export {
  GatewayTokenSource,
  StaticAccessTokenSource,
  parseAccessToken,
  stringClaim,
  type AccessToken,
  type GatewayTokenSourceOptions,
  type AccessTokenSource,
} from './token-source.js';
export {
  OidcTokenSource,
  type OidcClientAuth,
  type OidcTokenSourceOptions,
  type TokenClaimNames,
} from './oidc-token-source.js';
export {
  OIDC_CLIENT_ENV,
  OidcClientEnvSchema,
  oidcClientSettings,
  type OidcClientEnv,
  type OidcClientSettings,
} from './oidc.config.js';
export {
  LlmClient,
  assembleStream,
  parseCompletion,
  type ChatMessage,
  type ChatRequest,
  type ChatResult,
  type ChatTool,
  type ChatToolCall,
  type LlmClientOptions,
} from './llm-client.js';
export { RecentIds } from './recent-ids.js';
