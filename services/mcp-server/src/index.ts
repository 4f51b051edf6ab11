// orgmesh-mcp's building blocks (for embedding and tests) and the agent runner's CLI entry points.
export { loadMcpConfig, type McpConfig } from './mcp.config.js';
export { GatewayClient, type GatewayRequest } from './gateway/gateway.client.js';
export { GatewayError } from './gateway/gateway.errors.js';
export {
  ClientCredentialsTokenProvider,
  StaticTokenSource,
  claimsOf,
  type TokenSource,
} from './gateway/token.provider.js';
export { MESH_TOOLS, type MeshTool } from './tools/mesh.tools.js';
export { createOrgmeshMcpServer } from './server/mcp.server.js';
export { startMcpHttpServer, type McpHttpServer } from './server/http.transport.js';
