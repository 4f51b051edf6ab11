import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AppError,
  CONFIG_FORMATS,
  configHash,
  POLICY_KINDS,
  type ConfigFormat,
  type OrgUser,
  type PolicyKind,
} from '@orgmesh/contracts';
import { EXIT, groupHelpAnswer, warnOnce, type CliIo } from '@orgmesh/config';
import { loadRegistryDir } from './loader/registry.reader.js';
import { diffRegistry, formatDiff, isEmptyDiff } from './cli/registry-diff.js';
import { HELP, commandHelp } from './cli/registry.help.js';
import { isUnavailable, refusedProblems, type RegistryRemote } from './cli/registry-load.js';
import { loadRegistryCliEnv } from './cli/registry-cli.config.js';
import { formatProblem } from './loader/problem.js';
import type { RegistryModel } from './model/registry.model.js';
import { validateOrgChart } from './org/org-chart.js';
import { resolvePolicy } from './policy/policy.resolver.js';
import { renderAgentConfig, renderAgentWarnings } from './render/config.renderer.js';
import type { RenderEndpoints } from './render/render.types.js';

export type { CliIo };

/** The import step itself (an RPC to the registry service); injected by whoever wires the `orgmesh` bin. */
export type OrgImporter = (csv: string, fileName: string) => Promise<{ orgVersion: number; users: number }>;

export interface CliDependencies {
  readonly importOrg?: OrgImporter;
  /** The registry service `load` previews against and loads into (connects, so created only when needed). */
  readonly registryRemote?: () => Promise<RegistryRemote>;
  /** Asks the operator a yes/no question; absent when there is no terminal to ask on. */
  readonly confirm?: (question: string) => Promise<boolean>;
}

const EXIT_OK = EXIT.ok;
const EXIT_PROBLEMS = EXIT.failed;
const EXIT_USAGE = EXIT.usage;

/** `orgmesh registry …`: `argv` is everything after `registry`. Returns the exit code. */
export async function runRegistryCli(
  argv: readonly string[],
  io: CliIo,
  deps: CliDependencies = {},
): Promise<number> {
  const [command, ...rest] = argv;
  const helpAnswer = groupHelpAnswer(command, HELP, io);
  if (helpAnswer !== undefined) return helpAnswer;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'load':
        return await loadCommand(rest, io, deps);
      case 'import-org':
        return await importOrgCommand(rest, io, deps);
      case 'render':
        return await renderCommand(rest, io);
      case 'policy':
        return await policyCommand(rest, io);
      default:
        io.err(`orgmesh registry: unknown command "${command}" (see orgmesh registry --help)`);
        return EXIT_USAGE;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`orgmesh registry ${command}: ${error.message} (see orgmesh registry --help)`);
      return EXIT_USAGE;
    }
    if (error instanceof AppError) {
      io.err(`orgmesh registry ${command}: ${error.message}`);
      return isUnavailable(error) ? EXIT.unavailable : EXIT_PROBLEMS;
    }
    throw error;
  }
}

class UsageError extends Error {}

interface ParsedArgs {
  readonly help: boolean;
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

function parse(
  args: readonly string[],
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>,
  positionals: number,
): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true, values, positionals: parsed.positionals };
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(
      `expected ${positionals} argument${positionals === 1 ? '' : 's'}, got ${parsed.positionals.length}`,
    );
  }
  return { help: false, values, positionals: parsed.positionals };
}

async function loadOrReport(dir: string, io: CliIo): Promise<RegistryModel | undefined> {
  const result = await loadRegistryDir(dir);
  if (result.ok) return result.model;
  for (const problem of result.problems) io.err(formatProblem(problem));
  io.err(
    `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${dir}; nothing loaded`,
  );
  return undefined;
}

async function validateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { help, positionals } = parse(args, {}, 1);
  if (help) return printHelp(io, 'validate');
  const dir = positionals[0] ?? '';
  const started = performance.now();
  const model = await loadOrReport(dir, io);
  if (!model) return EXIT_PROBLEMS;
  const ms = performance.now() - started;
  io.out(
    `${dir}: valid: ${model.roles.length} roles, ${model.profiles.length} profiles, ${model.agents.length} agents (${ms.toFixed(1)} ms)`,
  );
  return EXIT_OK;
}

async function loadCommand(args: readonly string[], io: CliIo, deps: CliDependencies): Promise<number> {
  const { help, values, positionals } = parse(
    args,
    { 'dry-run': { type: 'boolean' }, yes: { type: 'boolean', short: 'y' } },
    1,
  );
  if (help) return printHelp(io, 'load');
  const dir = positionals[0] ?? '';
  if (values['dry-run'] && values.yes) throw new UsageError('--dry-run and --yes exclude each other');
  // Decided before anything is contacted: without a terminal and without --yes there is nobody to ask.
  if (!values['dry-run'] && !values.yes && !deps.confirm)
    throw new UsageError(
      'stdin is not a terminal, so nobody can confirm: pass --yes to load, or --dry-run to preview',
    );
  const local = await loadRegistryDir(dir);
  if (!local.ok) {
    for (const problem of local.problems) io.err(formatProblem(problem));
    io.err(
      `${local.problems.length} problem${local.problems.length === 1 ? '' : 's'} in ${dir}; nothing loaded`,
    );
    return EXIT_PROBLEMS;
  }
  if (!deps.registryRemote) {
    io.err(`${dir}: valid, but this build cannot reach the registry service`);
    return EXIT_PROBLEMS;
  }
  const remote = await deps.registryRemote();
  const held = await remote.held(local.model);
  const diff = diffRegistry(local.model, held);
  io.out(
    `${dir}: valid: ${local.model.roles.length} roles, ${local.model.profiles.length} profiles, ${local.model.agents.length} agents; against ${remote.target} (${held.version === null ? 'nothing loaded yet' : `version ${held.version}`}):`,
  );
  for (const line of formatDiff(diff)) io.out(`  ${line}`);
  if (values['dry-run']) {
    io.out('dry run: nothing loaded');
    return EXIT_OK;
  }
  if (isEmptyDiff(diff) && held.version !== null) {
    // Roles and descriptions of roles are not listed by the gateway: load anyway, an identical registry is a no-op.
    io.out('no agent or profile changes; loading anyway (identical content is a no-op)');
  } else if (!values.yes && !(await deps.confirm?.(`Load ${dir} as a new registry version? [y/N] `))) {
    io.err('not confirmed: nothing loaded');
    return EXIT_PROBLEMS;
  }
  try {
    const answer = await remote.load(local.files);
    io.out(
      answer.changed
        ? `loaded ${dir} as registry version ${answer.version} (${answer.digest}): ${answer.roles} roles, ${answer.profiles} profiles, ${answer.agents} agents`
        : `the registry already holds this content as version ${answer.version}: nothing changed`,
    );
    return EXIT_OK;
  } catch (error) {
    const problems = refusedProblems(error);
    if (problems.length === 0) throw error;
    for (const problem of problems) io.err(formatProblem(problem));
    io.err(
      `the registry service refused ${dir} (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing loaded`,
    );
    return EXIT_PROBLEMS;
  }
}

async function importOrgCommand(args: readonly string[], io: CliIo, deps: CliDependencies): Promise<number> {
  const { help, values, positionals } = parse(
    args,
    { registry: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    1,
  );
  if (help) return printHelp(io, 'import-org');
  const csvPath = positionals[0] ?? '';
  const registryDir = typeof values.registry === 'string' ? values.registry : dirname(csvPath);
  const csv = await readFile(csvPath, 'utf8').catch(() => undefined);
  if (csv === undefined) {
    io.err(`${csvPath}: (root): file not found`);
    return EXIT_PROBLEMS;
  }
  const model = await loadOrReport(registryDir, io);
  if (!model) return EXIT_PROBLEMS;
  const result = validateOrgChart(csv, { knownRoles: new Set(model.roles.map((r) => r.id)), file: csvPath });
  if (!result.ok) {
    for (const problem of result.problems) io.err(formatProblem(problem));
    io.err(
      `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${csvPath}; nothing imported`,
    );
    return EXIT_PROBLEMS;
  }
  const summary = `${csvPath}: valid: ${result.users.length} users, ${countRoots(result.users)} at the top, ${new Set(result.users.map((u) => u.department)).size} departments`;
  if (values['dry-run']) {
    io.out(`${summary} (dry run: nothing imported)`);
    return EXIT_OK;
  }
  if (!deps.importOrg) {
    io.err(`${summary}, but this build cannot reach the registry service: run with --dry-run to check only`);
    return EXIT_USAGE;
  }
  const imported = await deps.importOrg(csv, csvPath);
  io.out(`${csvPath}: imported ${imported.users} users as org version ${imported.orgVersion}`);
  return EXIT_OK;
}

async function renderCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { help, values, positionals } = parse(
    args,
    { format: { type: 'string' }, out: { type: 'string' } },
    2,
  );
  if (help) return printHelp(io, 'render');
  const [dir = '', agentId = ''] = positionals;
  const format = (values.format ?? 'goose') as ConfigFormat;
  if (!CONFIG_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${CONFIG_FORMATS.join(', ')}`);
  const model = await loadOrReport(dir, io);
  if (!model) return EXIT_PROBLEMS;
  const endpoints = endpointsFrom(io.env);
  const files = renderAgentConfig(model, agentId, format, endpoints);
  if (typeof values.out === 'string') {
    for (const file of files) {
      const target = join(resolve(values.out), file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content);
      io.out(`wrote ${target}`);
    }
  } else {
    for (const file of files) io.out(`===== ${file.path}\n${file.content}`);
  }
  io.out(`config hash: ${configHash(files)}`);
  for (const warning of renderAgentWarnings(model, agentId, format, endpoints))
    io.err(`warning: ${format}: ${warning}`);
  return EXIT_OK;
}

async function policyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { help, positionals } = parse(args, {}, 4);
  if (help) return printHelp(io, 'policy');
  const [dir = '', from = '', to = '', kind = ''] = positionals;
  if (!(POLICY_KINDS as readonly string[]).includes(kind))
    throw new UsageError(`kind must be one of ${POLICY_KINDS.join(', ')}`);
  const model = await loadOrReport(dir, io);
  if (!model) return EXIT_PROBLEMS;
  const decision = resolvePolicy(model, from, to, kind as PolicyKind);
  io.out(`${decision.allowed ? 'allow' : 'deny'}: ${decision.rule}`);
  return decision.allowed ? EXIT_OK : EXIT_PROBLEMS;
}

/** Endpoints for rendering from the environment, with the suite's local defaults. */
export function endpointsFrom(env: Readonly<Record<string, string | undefined>>): RenderEndpoints {
  return {
    privacyProxyUrl: env.ORGMESH_PRIVACY_PROXY_URL ?? 'http://127.0.0.1:8090',
    gatewayUrl: env.ORGMESH_GATEWAY_URL ?? 'http://127.0.0.1:8080',
    mcpCommand: env.ORGMESH_MCP_COMMAND ?? 'orgmesh-mcp',
  };
}

function printHelp(io: CliIo, command?: string): number {
  io.out(command ? commandHelp(command) : HELP);
  return EXIT_OK;
}

function countRoots(users: readonly OrgUser[]): number {
  return users.filter((u) => u.reportsToId === null).length;
}

/**
 * `orgmesh registry …` as the root `orgmesh` command runs it: `runRegistryCli` with the service wiring
 * (import-org calls the registry service over NATS; see cli/org-importer.ts). Loaded lazily, so the
 * offline commands never load the NATS client.
 */
export async function runRegistryCommand(argv: readonly string[], io: CliIo & CliTerminal): Promise<number> {
  const { natsOrgImporter } = await import('./cli/org-importer.js');
  const { adminCredentials } = await import('./cli/gateway-client.js');
  const { gatewayRemote } = await import('./cli/registry-load.js');
  return runRegistryCli(argv, io, {
    importOrg: natsOrgImporter(io.env),
    registryRemote: async () => {
      const credentials = await adminCredentials(io.env);
      if (credentials.devSecret)
        warnOnce(
          io,
          'dev-admin-secret',
          'no ORGMESH_TOKEN or ORGMESH_CLIENT_ID/ORGMESH_CLIENT_SECRET: using the dev admin client (works against a gateway in dev mode only)',
        );
      return gatewayRemote(credentials);
    },
    confirm: io.stdin?.isTTY
      ? (question) => askYesNo(question, io.stdin as NodeJS.ReadableStream, io.stderr)
      : undefined,
  });
}

/** What the `orgmesh` dispatcher passes besides CliIo: the terminal, to ask for confirmation. */
export interface CliTerminal {
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stderr?: NodeJS.WritableStream | null;
}

async function askYesNo(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream | null | undefined,
): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input, output: output ?? process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  // `node services/registry/dist/cli.js registry validate <dir>` (the root `orgmesh` imports runRegistryCommand instead).
  const args = process.argv.slice(2);
  const argv = args[0] === 'registry' ? args.slice(1) : args;
  const io: CliIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    // Read in cli/registry-cli.config.ts, the only place this process reads its environment.
    env: loadRegistryCliEnv(),
  };
  // Exit explicitly: a NATS connection still being attempted must not keep the CLI alive.
  runRegistryCommand(argv, { ...io, stdin: process.stdin, stderr: process.stderr }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`orgmesh registry: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
