import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const MCP_BIN_DIR = join(REPO_ROOT, 'services/mcp-server/bin');

/**
 * Builds what the `orgmesh-mcp` executable and the `orgmesh` dispatcher run (their dist/ output and
 * that of the libs they import), as `npm run build` does, in well under a second with swc.
 */
export function buildForProcesses(): void {
  execFileSync(
    process.execPath,
    [
      'scripts/build.mjs',
      'libs/contracts',
      'libs/config',
      'libs/telemetry',
      'libs/messaging',
      // The HTTP edge kit (@orgmesh/service-host/http-edge) of orgmesh-mcp --http.
      'libs/service-host',
      // orgmesh-mcp and the runner take the OIDC token source from the SDK.
      'libs/agent-sdk',
      'services/registry',
      'services/mcp-server',
    ],
    { cwd: REPO_ROOT, stdio: 'ignore' },
  );
}

/** A PATH on which `orgmesh-mcp` (node_modules/.bin, as npm links it) and this node resolve. */
export function testPath(): string {
  return [join(REPO_ROOT, 'node_modules/.bin'), dirname(process.execPath), process.env['PATH'] ?? ''].join(
    ':',
  );
}

export interface ToolAnswer {
  isError: boolean;
  text: string;
  structured: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolAnswer> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return { isError: result.isError === true, text, structured: result.structuredContent };
}

/** Starts `orgmesh-mcp --http --port 0` and resolves with its URL once it says where it listens. */
export function startHttpServer(
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn('orgmesh-mcp', ['--http', '--port', '0'], {
    env: { PATH: testPath(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (\S+)/.exec(out);
      if (match?.[1]) resolve({ url: match[1], child, stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`orgmesh-mcp --http exited (${code}): ${err}`)));
  });
}
