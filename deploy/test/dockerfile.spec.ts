import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createMetricsRegistry, startHealthServer, type HealthServer } from '@orgmesh/telemetry';
import { REPO_ROOT } from './kustomize.js';
import { findConfigSchema, serviceDirectories, SERVICES } from './service-catalog.js';

const run = promisify(execFile);
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8');

/** Instructions with continuation lines joined; comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM\s/i.test(line)) stages.push([line]);
  else stages.at(-1)?.push(line);
}
const runtime = stages.at(-1)!;
const healthcheck = runtime.find((line) => line.startsWith('HEALTHCHECK'))!;
const healthcheckCommand = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD') + 3).trim()) as string[];

/** How a service name appears as a key of the health check's object literal. */
const propertyName = (dir: string) => (/^[a-z]\w*$/.test(dir) ? dir : `'${dir}'`);

async function probe(env: Record<string, string>): Promise<number> {
  try {
    await run(process.execPath, healthcheckCommand.slice(1), {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      timeout: 10_000,
    });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

/** .dockerignore semantics for the patterns used: `**` spans directories, `*` stays within one; a match excludes the subtree. */
function ignored(path: string): boolean {
  let excluded = false;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split('/')
        .map((segment) =>
          segment === '**'
            ? '(?:.*)'
            : segment
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?')}(?:/.*)?$`,
    );
    if (regex.test(path)) excluded = !negate;
  }
  return excluded;
}

describe('Dockerfile', () => {
  it('builds in stages and keeps only production dependencies in the image that runs', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stages.every((stage) => /^FROM\s+\$\{NODE_IMAGE\}/.test(stage[0]!))).toBe(true);
    expect(instructions.find((line) => line.startsWith('ARG NODE_IMAGE'))).toMatch(/node:24-slim/);
    const build = stages.find((stage) => stage.some((line) => line.includes('npm run build')))!;
    expect(build.some((line) => /npm (?:ci|install)(?!.*--omit)/.test(line))).toBe(true);
    expect(runtime.some((line) => /npm (?:ci|install) .*--omit=dev/.test(line))).toBe(true);
    expect(runtime.some((line) => line.includes('npm run build'))).toBe(false);
    expect(runtime.some((line) => /^COPY --from=build \/out\//.test(line))).toBe(true);
  });

  it('runs as a numeric non-root user, so Kubernetes can verify runAsNonRoot', () => {
    const user = runtime.filter((line) => line.startsWith('USER ')).at(-1);
    const [uid, gid] = user!.slice(5).trim().split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    expect(runtime.indexOf(user!)).toBeLessThan(runtime.indexOf(healthcheck));
  });

  it('starts services/$SERVICE/dist/main.js unless ENTRY says otherwise, with node as PID 1', () => {
    expect(runtime).toContain('ARG ENTRY=services/${SERVICE}/dist/main.js');
    const cmd = JSON.parse(
      runtime
        .find((line) => line.startsWith('CMD'))!
        .slice(3)
        .trim(),
    ) as string[];
    expect(cmd.at(-1)).toMatch(/^exec node .*"\$ORGMESH_ENTRY"$/);
  });

  it('health-checks with node (no curl in the slim image) on each service’s port variable', () => {
    expect(healthcheckCommand.slice(0, 2)).toEqual(['node', '-e']);
    for (const service of SERVICES)
      expect(healthcheckCommand[2]).toContain(`${propertyName(service.dir)}:e.${service.healthPortKey}||`);
  });

  it.each(SERVICES.map((service) => [service.dir, service] as const))(
    'falls back to the documented default port of %s',
    (_dir, service) => {
      const fallback = new RegExp(
        `${propertyName(service.dir)}:e\\.${service.healthPortKey}\\|\\|(\\d+)`,
      ).exec(healthcheckCommand[2]!)?.[1];
      expect(Number(fallback)).toBe(service.defaultHealthPort);
    },
  );

  it('collects every workspace’s manifest and runtime assets (e.g. the gRPC protos) but no sources or tests', async () => {
    const collect = instructions
      .find((line) => line.startsWith('RUN') && line.includes('/out/deploy'))!
      .slice(3);
    const out = mkdtempSync(join(tmpdir(), 'orgmesh-image-out-'));
    try {
      await run('sh', ['-c', collect.replaceAll('/out', out)], {
        cwd: REPO_ROOT,
        env: { PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
      });
      expect(existsSync(join(out, 'libs', 'contracts', 'proto', 'sessions.proto'))).toBe(true);
      expect(existsSync(join(out, 'package.json')) && existsSync(join(out, 'package-lock.json'))).toBe(true);
      expect(existsSync(join(out, 'deploy', 'registry', 'roles.yaml'))).toBe(true);
      for (const dir of serviceDirectories()) {
        expect(existsSync(join(out, 'services', dir, 'package.json'))).toBe(true);
        expect(existsSync(join(out, 'services', dir, 'src'))).toBe(false);
        expect(existsSync(join(out, 'services', dir, 'test'))).toBe(false);
        // The built test harness (@orgmesh/<service>/testing) stays out; the rest of dist/ ships.
        expect(existsSync(join(out, 'services', dir, 'dist', 'testing'))).toBe(false);
        expect(existsSync(join(out, 'services', dir, 'dist'))).toBe(
          existsSync(join(REPO_ROOT, 'services', dir, 'dist')),
        );
      }
      expect(existsSync(join(out, 'node_modules'))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  describe('health check against a live health server', () => {
    let server: HealthServer;
    let closedPort: number;
    beforeAll(async () => {
      const closed = await startHealthServer({
        port: 0,
        host: '127.0.0.1',
        checks: {},
        registry: createMetricsRegistry('closed'),
      });
      closedPort = closed.port;
      await closed.close();
      server = await startHealthServer({
        port: 0,
        host: '127.0.0.1',
        checks: {},
        registry: createMetricsRegistry('docker-healthcheck'),
      });
    });
    afterAll(async () => {
      await server.close();
    });

    it.each(SERVICES.map((service) => [service.dir, service] as const))(
      'passes for %s when /healthz answers on its port variable',
      async (_dir, service) => {
        expect(
          await probe({ ORGMESH_SERVICE: service.dir, [service.healthPortKey]: String(server.port) }),
        ).toBe(0);
      },
    );

    it('fails when nothing listens, and for an image without a known health port', async () => {
      expect(await probe({ ORGMESH_SERVICE: 'sessions', SESSIONS_HTTP_PORT: String(closedPort) })).toBe(1);
      expect(await probe({ ORGMESH_SERVICE: 'migrations' })).toBe(1);
    });
  });
});

describe('.dockerignore', () => {
  it('keeps host dependencies, build output, VCS data and secrets out of the build context', () => {
    for (const path of [
      'node_modules',
      'libs/config/node_modules/x',
      'services/sessions/dist/main.js',
      '.git/HEAD',
      '.tools/node24',
      '.env',
      'libs/config/src/config.spec.ts',
    ]) {
      expect([path, ignored(path)]).toEqual([path, true]);
    }
  });

  it('keeps everything the build needs', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      '.swcrc',
      'scripts/build.mjs',
      'libs/config/src/config.ts',
      'services/sessions/package.json',
      'migrations/cli.ts',
      'deploy/registry/roles.yaml',
      'tsconfig.base.json',
    ]) {
      expect([path, ignored(path)]).toEqual([path, false]);
    }
  });
});

describe('default ports (one machine: npm start, the Docker health check)', () => {
  it('every service defaults to its documented port (ARCHITECTURE §9, scripts/start.mjs), and no two services share one', async () => {
    const defaults: Array<[string, number]> = [];
    for (const service of SERVICES) {
      const schema = await findConfigSchema(`services/${service.dir}/src`, service.schemaExport);
      const actual =
        (schema?.defaultOf(service.healthPortKey) as number | undefined) ?? service.defaultHealthPort;
      defaults.push([`${service.dir} ${service.healthPortKey}`, actual]);
    }
    expect(defaults).toEqual(
      SERVICES.map((service) => [`${service.dir} ${service.healthPortKey}`, service.defaultHealthPort]),
    );
    expect(new Set(defaults.map(([, port]) => port)).size).toBe(defaults.length);
  });
});
