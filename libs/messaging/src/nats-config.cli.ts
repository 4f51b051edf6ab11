import { parseArgs, type ParseArgsConfig } from 'node:util';
import { generateSecuredBus } from './nats-server-config.js';

interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const NATS_CONFIG_HELP = `orgmesh nats-config: the secured NATS bus's server config and credentials (ADR 0011)

Usage: orgmesh nats-config --out <dir> [options]

Writes into <dir>:
  nats-server.conf                 JetStream, one NKey user per identity with the permissions
                                   computed from the contracts; anonymous connections refused
  <identity>.nk                    one seed per identity (mode 0600): give each process its own as
                                   NATS_NKEY_SEED_FILE
  nats-auth.conf                   the authorization block alone, for a NATS cluster configured
                                   elsewhere (the Helm chart: include it)
  nats-credentials.secret.yaml     all of it as a Kubernetes Secret (kubectl apply -f)

Identities: sessions, registry, mesh-router, gateway, privacy-proxy, runner, admin-cli, and
agent-<id> per --agent. Existing seeds are kept (re-run after a contract change to update the
permissions); --rotate issues new ones (then restart nats-server and every process).

Options:
  --out <dir>            where to write (required)
  --prefix <p.>          NATS_SUBJECT_PREFIX of the deployment (default none)
  --name-suffix <S>      NATS_NAME_SUFFIX of the deployment (default none)
  --agent <id>:<role>    a reference agent's credential (repeatable)
  --host <addr>          listen address (default 127.0.0.1)
  --port <n>             client port (default 4223)
  --http-port <n>        monitoring port (default none)
  --store-dir <dir>      JetStream store (default <out>/jetstream)
  --tls-cert <file>      server certificate (cert-manager: tls.crt); with --tls-key
  --tls-key <file>       server key (tls.key)
  --tls-ca <file>        CA of the certificate (ca.crt), optional
  --rotate               new seeds for every identity
  -h, --help             this help`;

/** The flags of `orgmesh nats-config` (see NATS_CONFIG_HELP). */
const NATS_CONFIG_OPTIONS = {
  out: { type: 'string' },
  prefix: { type: 'string', default: '' },
  'name-suffix': { type: 'string', default: '' },
  agent: { type: 'string', multiple: true, default: [] },
  host: { type: 'string' },
  port: { type: 'string' },
  'http-port': { type: 'string' },
  'store-dir': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  rotate: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

/** `orgmesh nats-config …` → exit status (0 ok, 2 usage). */
export async function runNatsConfigCli(argv: readonly string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: NATS_CONFIG_OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.err(`orgmesh nats-config: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  if (values.help) {
    io.out(NATS_CONFIG_HELP);
    return 0;
  }
  const usage = (message: string) => {
    io.err(`orgmesh nats-config: ${message}\n\n${NATS_CONFIG_HELP}`);
    return 2;
  };
  if (!values.out) return usage('--out <dir> is required');
  const agents = [];
  for (const spec of values.agent) {
    const [agentId, agentRole, extra] = spec.split(':');
    if (!agentId || !agentRole || extra !== undefined) return usage(`--agent "${spec}": expected <id>:<role>`);
    agents.push({ agentId, agentRole });
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  const httpPort = values['http-port'] === undefined ? undefined : Number(values['http-port']);
  for (const [name, n] of [['--port', port], ['--http-port', httpPort]] as const) {
    if (n !== undefined && !(Number.isInteger(n) && n > 0 && n < 65536)) return usage(`${name}: expected a port number`);
  }
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) return usage('--tls-cert and --tls-key go together');
  let generated;
  try {
    generated = generateSecuredBus({
      outDir: values.out,
      namespace: { subjectPrefix: values.prefix, nameSuffix: values['name-suffix'] },
      agents,
      ...(values.host ? { host: values.host } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(httpPort !== undefined ? { httpPort } : {}),
      ...(values['store-dir'] ? { storeDir: values['store-dir'] } : {}),
      ...(values['tls-cert'] && values['tls-key']
        ? {
            tls: {
              certFile: values['tls-cert'],
              keyFile: values['tls-key'],
              ...(values['tls-ca'] ? { caFile: values['tls-ca'] } : {}),
            },
          }
        : {}),
      rotate: values.rotate,
    });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  io.out(`wrote ${generated.configFile}`);
  io.out(`wrote ${generated.authFile}`);
  io.out(`wrote ${generated.secretFile}`);
  for (const [name, file] of Object.entries(generated.seedFiles)) {
    io.out(`${generated.created.includes(name) ? 'new ' : 'kept'} ${name.padEnd(24)} ${file}`);
  }
  io.out(`start: nats-server -c ${generated.configFile}`);
  return 0;
}
