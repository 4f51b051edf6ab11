import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadMcpConfig } from './mcp.config.js';

const agent = { ORGMESH_AGENT_ID: 'finance-agent', ORGMESH_CLIENT_SECRET: 's3cret' };

describe('loadMcpConfig', () => {
  it('reads the variables the registry renders, defaulting the client id to the agent id and the transport to stdio', () => {
    const config = loadMcpConfig({ ...agent, ORGMESH_GATEWAY_URL: 'http://gw.test:8080/' });
    expect(config).toMatchObject({
      agentId: 'finance-agent',
      clientId: 'finance-agent',
      clientSecret: 's3cret',
      gatewayUrl: 'http://gw.test:8080',
      transport: 'stdio',
    });
  });

  it('falls back to GATEWAY_URL, then to the local default', () => {
    expect(loadMcpConfig({ ...agent, GATEWAY_URL: 'http://other:1' }).gatewayUrl).toBe('http://other:1');
    expect(loadMcpConfig(agent).gatewayUrl).toBe('http://127.0.0.1:8080');
  });

  it('requires the agent credentials over stdio, naming the keys but never their values', () => {
    expect(() => loadMcpConfig({ ORGMESH_CLIENT_SECRET: 'do-not-echo' })).toThrow(ConfigError);
    try {
      loadMcpConfig({ ORGMESH_CLIENT_SECRET: 'do-not-echo' });
    } catch (error) {
      expect((error as Error).message).toContain('ORGMESH_AGENT_ID (required');
      expect((error as Error).message).not.toContain('do-not-echo');
    }
    expect(() => loadMcpConfig({ ORGMESH_AGENT_ID: 'a' })).toThrow(/ORGMESH_CLIENT_SECRET \(required/);
  });

  it('selects HTTP with --http or MCP_TRANSPORT, where credentials are optional but come in pairs', () => {
    expect(loadMcpConfig({}, ['--http', '--port', '9000'])).toMatchObject({
      transport: 'http',
      httpPort: 9000,
      clientId: undefined,
    });
    expect(loadMcpConfig({ MCP_TRANSPORT: 'http', MCP_HTTP_PORT: '7000' })).toMatchObject({
      transport: 'http',
      httpPort: 7000,
    });
    expect(loadMcpConfig({ ...agent, MCP_TRANSPORT: 'http' }, ['--stdio']).transport).toBe('stdio');
    expect(() => loadMcpConfig({ ORGMESH_AGENT_ID: 'a' }, ['--http'])).toThrow(
      /ORGMESH_CLIENT_SECRET \(set both or neither\)/,
    );
  });

  it('refuses unknown arguments and a bad gateway URL', () => {
    expect(() => loadMcpConfig(agent, ['--verbose'])).toThrow(/--verbose \(unknown argument/);
    expect(() => loadMcpConfig(agent, ['--port', 'x'])).toThrow(/--port \(expected a port number\)/);
    expect(() => loadMcpConfig({ ...agent, ORGMESH_GATEWAY_URL: 'ftp://x' })).toThrow(
      /ORGMESH_GATEWAY_URL \(expected an http\(s\) URL\)/,
    );
  });
});
