import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSecuredBus } from '@orgmesh/messaging';
import { freePort, waitForPort } from './ports.js';
import { natsServerBinary } from './private-nats.js';

export interface SecuredNats {
  readonly url: string;
  /** The seed file of each identity (`sessions`, `gateway`, `agent-<id>`, …). */
  readonly seedFiles: Readonly<Record<string, string>>;
  /** The seed file of an identity; throws for one the config does not know. */
  seedFile(identity: string): string;
  dispose(): Promise<void>;
}

/**
 * A private nats-server secured exactly as `orgmesh nats-config` secures a deployment: one NKey
 * user per identity with the permissions computed from the contracts for this namespace, and no
 * anonymous access. For the attack suite and for running real services with their credentials.
 */
export async function startSecuredNats(options: {
  subjectPrefix: string;
  nameSuffix: string;
  agents?: readonly { agentId: string; agentRole: string }[];
}): Promise<SecuredNats> {
  const binary = natsServerBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'orgmesh-secured-nats-'));
  const generated = generateSecuredBus({
    outDir: dir,
    namespace: { subjectPrefix: options.subjectPrefix, nameSuffix: options.nameSuffix },
    agents: options.agents ?? [],
    port,
  });
  const child: ChildProcess = spawn(binary, ['-c', generated.configFile], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitForPort(port);
  return {
    url: `nats://127.0.0.1:${port}`,
    seedFiles: generated.seedFiles,
    seedFile(identity) {
      const file = generated.seedFiles[identity];
      if (!file) throw new Error(`the secured test server has no identity ${identity}`);
      return file;
    },
    async dispose() {
      if (!exited) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
