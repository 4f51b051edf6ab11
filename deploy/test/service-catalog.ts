/**
 * What the deployment tests know about each orgmesh process: which directory builds it, which
 * workloads run it, which zod schema is its configuration and which variable sets the port its
 * probes use. Everything else (keys, required keys, defaults, valid values) is read from the
 * services' own config schemas at test time, so manifests and services cannot drift apart silently.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from './kustomize.js';

export interface ServiceEntry {
  /** Directory under services/ and the Dockerfile's SERVICE build argument. */
  readonly dir: string;
  /** Kubernetes Deployments (and compose services) that run it. */
  readonly workloads: readonly string[];
  /** The zod schema exported by services/<dir>/src/<dir>.config.ts. */
  readonly schemaExport: string;
  /** Variable that sets the port serving /healthz and /readyz, and its documented default. */
  readonly healthPortKey: string;
  readonly defaultHealthPort: number;
  /** Further listening ports: variable → documented default. */
  readonly otherPorts?: Readonly<Record<string, number>>;
  /** Stateless process (state in Postgres or JetStream): runs under a HorizontalPodAutoscaler. */
  readonly autoscaled: boolean;
  /** Reachable from outside the namespace. */
  readonly public: boolean;
}

export const SERVICES: readonly ServiceEntry[] = [
  {
    dir: 'sessions',
    workloads: ['sessions'],
    schemaExport: 'SessionsConfigSchema',
    healthPortKey: 'SESSIONS_HTTP_PORT',
    defaultHealthPort: 8101,
    autoscaled: true,
    public: false,
  },
  {
    dir: 'registry',
    workloads: ['registry'],
    schemaExport: 'RegistryConfigSchema',
    healthPortKey: 'REGISTRY_HTTP_PORT',
    defaultHealthPort: 8102,
    autoscaled: true,
    public: false,
  },
  {
    dir: 'mesh-router',
    workloads: ['mesh-router'],
    schemaExport: 'MeshRouterConfigSchema',
    healthPortKey: 'MESH_HTTP_PORT',
    defaultHealthPort: 8103,
    autoscaled: true,
    public: false,
  },
  {
    dir: 'privacy-proxy',
    workloads: ['privacy-proxy'],
    schemaExport: 'PrivacyProxyConfigSchema',
    healthPortKey: 'PRIVACY_PROXY_PORT',
    defaultHealthPort: 8090,
    autoscaled: true,
    public: true,
  },
  {
    dir: 'gateway',
    workloads: ['gateway'],
    schemaExport: 'GatewayConfigSchema',
    healthPortKey: 'GATEWAY_HTTP_PORT',
    defaultHealthPort: 8080,
    otherPorts: { GATEWAY_GRPC_PORT: 50051 },
    autoscaled: true,
    public: true,
  },
  {
    dir: 'agents',
    workloads: ['agent-finance', 'agent-manager', 'agent-legal'],
    schemaExport: 'AgentsConfigSchema',
    healthPortKey: 'AGENTS_HTTP_PORT',
    defaultHealthPort: 8104,
    autoscaled: false,
    public: false,
  },
];

/** Directories under services/ that are deliberately not deployed as cluster services, and why. */
export const NOT_DEPLOYED: Readonly<Record<string, string>> = {
  'mcp-server':
    'orgmesh-mcp runs beside each agent client (stdio or local streamable HTTP), not as a shared service',
};

/** The offline model stand-in: dev overlay and compose only; lives in the agents workspace. */
export const SCRIPTED_MODEL = {
  workload: 'scripted-model',
  searchDir: 'services/agents/src',
  schemaExport: 'ScriptedModelConfigSchema',
  portKey: 'SCRIPTED_MODEL_PORT',
  defaultPort: 11434,
} as const;

export function serviceForWorkload(workload: string): ServiceEntry | undefined {
  return SERVICES.find((service) => service.workloads.includes(workload));
}

/** Service directories present in the repository right now. */
export function serviceDirectories(): string[] {
  const root = join(REPO_ROOT, 'services');
  return readdirSync(root).filter(
    (name) => statSync(join(root, name)).isDirectory() && existsSync(join(root, name, 'package.json')),
  );
}

/** A service can be built and run once its entry point exists. */
export function entryPointSource(dir: string): string | undefined {
  const path = join(REPO_ROOT, 'services', dir, 'src', 'main.ts');
  return existsSync(path) ? path : undefined;
}

/** Maps a built entry (`services/x/dist/a/b.js`, `migrations/dist/cli.js`) to its TypeScript source, if present. */
export function sourceOfBuiltEntry(entry: string): string | undefined {
  const match = /^(.*?)\/dist\/(.+)\.js$/.exec(entry);
  if (!match) return undefined;
  const [, workspace, rest] = match as unknown as [string, string, string];
  const manifest = join(REPO_ROOT, workspace, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const packageJson = JSON.parse(readFileSync(manifest, 'utf8')) as { orgmesh?: { sourceRoot?: string } };
  const path = join(REPO_ROOT, workspace, packageJson.orgmesh?.sourceRoot ?? 'src', `${rest}.ts`);
  return existsSync(path) ? path : undefined;
}

/** What a service's zod config schema says about one environment. */
export interface ConfigSchemaInfo {
  readonly file: string;
  readonly keys: readonly string[];
  /** Keys without a default that must be set. */
  readonly required: readonly string[];
  /** Reason a value is refused for a key, or undefined when it is accepted. */
  problem(key: string, value: string): string | undefined;
  /** The value the schema uses when the key is unset (undefined when none). */
  defaultOf(key: string): unknown;
  /**
   * Runs the service's own `load<Name>Config(env)` (cross-key rules included) on an environment;
   * secrets it cannot know are stood in for by a value their key accepts. Undefined when the
   * module exports no loader.
   */
  load?: (env: Record<string, string | undefined>, secretKeys: readonly string[]) => void;
}

/** Values tried, in order, for a key whose real value is a secret. */
const SECRET_STAND_INS = [
  'postgres://user:password@postgres.example:5432/orgmesh',
  'x'.repeat(64),
  // A public JWKS (the registry's pinned profile-signing key, PRIVACY_PROFILE_JWKS).
  '{"keys":[{"kty":"EC","crv":"P-256","x":"-jca4DPiApmh876RarO57hihkgLIZrpcxAfc7f0Eq1o","y":"LEBWvOU7t6Cmf2x6UZv19acIZIoGrQO8HogVPr_ysqQ","kid":"stand-in","alg":"ES256","use":"sig"}]}',
];

/**
 * Finds `export const <exportName>` in a `*.config.ts` file under `searchDir` and introspects it;
 * undefined while no such file exists yet.
 */
export async function findConfigSchema(
  searchDir: string,
  exportName: string,
): Promise<ConfigSchemaInfo | undefined> {
  const root = join(REPO_ROOT, searchDir);
  if (!existsSync(root)) return undefined;
  const file = walk(root).find(
    (path) =>
      path.endsWith('.config.ts') && readFileSync(path, 'utf8').includes(`export const ${exportName}`),
  );
  if (!file) return undefined;
  const module = (await import(file)) as Record<string, unknown>;
  const schema = module[exportName];
  if (!(schema instanceof z.ZodType))
    throw new Error(`${relative(REPO_ROOT, file)}: ${exportName} is not a zod schema`);
  const shape = objectShape(schema, `${relative(REPO_ROOT, file)}#${exportName}`);
  const loader = module[`load${exportName.replace(/ConfigSchema$/, '')}Config`];
  const keys = Object.keys(shape);
  return {
    file: relative(REPO_ROOT, file),
    keys,
    required: keys.filter((key) => !shape[key]!.safeParse(undefined).success),
    problem(key, value) {
      const field = shape[key];
      if (!field) return 'not a key of the schema';
      const result = field.safeParse(value);
      return result.success ? undefined : result.error.issues.map((issue) => issue.message).join('; ');
    },
    defaultOf(key) {
      const result = shape[key]?.safeParse(undefined);
      return result?.success ? result.data : undefined;
    },
    load:
      typeof loader === 'function'
        ? (env, secretKeys) => {
            const full = { ...env };
            for (const key of secretKeys)
              full[key] =
                SECRET_STAND_INS.find((candidate) => shape[key]?.safeParse(candidate).success) ??
                SECRET_STAND_INS[1];
            (loader as (source: Record<string, string | undefined>) => unknown)(full);
          }
        : undefined,
  };
}

function objectShape(schema: z.ZodType, where: string): Record<string, z.ZodType> {
  let current: z.ZodType = schema;
  for (let depth = 0; depth < 4; depth++) {
    if (current instanceof z.ZodObject) return current.shape as Record<string, z.ZodType>;
    if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else break;
  }
  throw new Error(`${where}: expected a z.object (optionally piped); cannot list its keys`);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...walk(path));
    } else out.push(path);
  }
  return out;
}

/** Non-test TypeScript sources of a service (empty when the directory does not exist). */
export function serviceSources(dir: string): string[] {
  const root = join(REPO_ROOT, 'services', dir, 'src');
  if (!existsSync(root)) return [];
  return walk(root).filter(
    (path) => path.endsWith('.ts') && !/\.(spec|integration-spec|e2e-spec)\.ts$/.test(path),
  );
}
