import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { generateSecuredBus, type BusOptions } from '@orgmesh/messaging';
import { freePort, waitForPort } from './ports.js';
import { natsServerBinary } from './private-nats.js';
import { stopChild } from './server-process.js';

export interface SecuredNats {
  readonly url: string;
  /** The seed file of each identity (`sessions`, `gateway`, `agent-<id>`, …). */
  readonly seedFiles: Readonly<Record<string, string>>;
  /** The seed file of an identity; throws for one the config does not know. */
  seedFile(identity: string): string;
  /**
   * What `connectBus` needs to connect as `identity` (its seed, the namespace, the CA with `tls`),
   * named as the identity: the bus grants an identity's reply inboxes by that name.
   */
  busOptions(
    identity: string,
  ): Pick<BusOptions, 'url' | 'name' | 'nkeySeedFile' | 'subjectPrefix' | 'nameSuffix' | 'tlsCaFile'>;
  /** With `tls`: the PEM of the throwaway CA that signed the server's certificate (NATS_TLS_CA_FILE). */
  readonly caFile: string | undefined;
  /** With `tls`: the server's monitoring port (`/connz` shows each connection's TLS version). */
  readonly httpPort: number | undefined;
  dispose(): Promise<void>;
}

/**
 * A throwaway CA and a server certificate it signed for `localhost` and 127.0.0.1 (openssl, P-256,
 * one day), written into `dir`. Answers the CA's and the server's files.
 */
export function issueTestCertificates(
  dir: string,
  name = 'orgmesh-test',
): { caFile: string; certFile: string; keyFile: string } {
  const file = (base: string) => join(dir, base);
  const ca = { key: file(`${name}-ca.key`), crt: file(`${name}-ca.crt`) };
  const server = {
    key: file(`${name}-server.key`),
    csr: file(`${name}-server.csr`),
    ext: file(`${name}-server.ext`),
    crt: file(`${name}-server.crt`),
  };
  const ec = { newkey: 'ec', pkeyopt: 'ec_paramgen_curve:P-256', nodes: true } as const;
  openssl('req', {
    x509: true,
    ...ec,
    keyout: ca.key,
    out: ca.crt,
    days: '1',
    subj: `/CN=${name} CA`,
    addext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
  });
  openssl('req', { ...ec, keyout: server.key, out: server.csr, subj: '/CN=localhost' });
  writeFileSync(
    server.ext,
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl('x509', {
    req: true,
    in: server.csr,
    CA: ca.crt,
    CAkey: ca.key,
    CAcreateserial: true,
    days: '1',
    out: server.crt,
    extfile: server.ext,
  });
  return { caFile: ca.crt, certFile: server.crt, keyFile: server.key };
}

/**
 * Runs `openssl <command>` with `options` as its flags, in order: `-name value` (once per value of a
 * list), or `-name` alone for `true`.
 */
function openssl(
  command: string,
  options: Readonly<Record<string, string | readonly string[] | true>>,
): void {
  const args = Object.entries(options).flatMap(([flag, value]) =>
    value === true ? [`-${flag}`] : [value].flat().flatMap((one) => [`-${flag}`, one]),
  );
  execFileSync('openssl', [command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A private nats-server secured exactly as `orgmesh nats-config` secures a deployment: one NKey
 * user per identity with the permissions computed from the contracts for this namespace, and no
 * anonymous access. For the attack suite and for running real services with their credentials.
 *
 * `tls`: the server as the production Helm values run it instead: its own configuration with TLS
 * required (a certificate of a throwaway CA, `caFile`) that includes the generated auth-only
 * `nats-auth.conf`; the URL is then `tls://localhost:<port>`.
 */
export async function startSecuredNats(options: {
  subjectPrefix: string;
  nameSuffix: string;
  agents?: readonly { agentId: string; agentRole: string }[];
  tls?: boolean;
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
  let configFile = generated.configFile;
  let tls: ReturnType<typeof issueTestCertificates> | undefined;
  let httpPort: number | undefined;
  if (options.tls) {
    tls = issueTestCertificates(dir);
    httpPort = await freePort();
    configFile = join(dir, 'nats-tls.conf');
    writeFileSync(
      configFile,
      [
        `host: "127.0.0.1"`,
        `port: ${port}`,
        `http_port: ${httpPort}`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, 'jetstream'))} }`,
        `tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)} }`,
        // As the Helm values do: the generated users from the auth-only file, by relative include.
        'include "nats-auth.conf"',
        '',
      ].join('\n'),
    );
  }
  const child: ChildProcess = spawn(binary, ['-c', configFile], { stdio: 'ignore' });
  await waitForPort(port);
  const url = tls ? `tls://localhost:${port}` : `nats://127.0.0.1:${port}`;
  const seedFile = (identity: string) => {
    const file = generated.seedFiles[identity];
    if (!file) throw new Error(`the secured test server has no identity ${identity}`);
    return file;
  };
  return {
    url,
    caFile: tls?.caFile,
    httpPort,
    seedFiles: generated.seedFiles,
    seedFile,
    busOptions: (identity) => ({
      url,
      name: identity,
      nkeySeedFile: seedFile(identity),
      subjectPrefix: options.subjectPrefix,
      nameSuffix: options.nameSuffix,
      ...(tls ? { tlsCaFile: tls.caFile } : {}),
    }),
    async dispose() {
      await stopChild(child, { signal: 'SIGTERM', graceMs: 5_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether every server of `url` (`nats://a,nats://b`) refuses a client that brings no credentials:
 * an `Authorization Violation`. Any other outcome (a connection, a server that does not answer) is
 * false.
 */
export async function refusesAnonymous(url: string): Promise<boolean> {
  for (const server of url.split(',')) {
    try {
      const nc = await connect({ servers: server, reconnect: false, timeout: 5_000 });
      await nc.close();
      return false;
    } catch (error) {
      if (!/authorization/i.test(String(error))) return false;
    }
  }
  return true;
}
