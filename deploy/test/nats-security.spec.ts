/**
 * The secured bus as deployed (ADR 0011, issue 18): every process authenticates with its own NKey
 * and nothing else's; in prod the bus is TLS-only with a cert-manager certificate, the NATS servers
 * run the generated users, the privacy proxy pins the registry's signing key, and no development
 * credential or anonymous NATS is left. Compose cannot run here (no Docker): its wiring is checked
 * structurally, and its nats-config script is executed on this machine with the paths remapped.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parse } from 'yaml';
import { nkeys } from '@nats-io/nats-core';
import { generateSecuredBus } from '@orgmesh/messaging';
import { kustomizeBuild, podSpecOf, readYamlDocuments, REPO_ROOT, type K8sObject } from './kustomize.js';
import { natsServerBinary } from './deploy-helpers.js';
import { containersOf, find, ofKind, resolveEnv, type Container } from './workloads.js';
import { profileSigningKey } from '@orgmesh/registry/testing';
import { loadPrivacyProxyConfig } from '@orgmesh/privacy-proxy/testing';

const K8S = join(REPO_ROOT, 'deploy', 'k8s');
const COMPOSE_DIR = join(REPO_ROOT, 'deploy', 'compose');
const natsServer = natsServerBinary();

type Volume = {
  name: string;
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
};

const volumesOf = (object: K8sObject) => (podSpecOf(object)?.['volumes'] ?? []) as unknown as Volume[];

/** The file a container sees at `path`: the volume, key and item behind its mount, if any. */
function fileBehind(object: K8sObject, container: Container, path: string) {
  const mount = (container.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
  if (!mount) return undefined;
  const volume = volumesOf(object).find((v) => v.name === mount.name);
  const item = (volume?.secret?.items ?? volume?.configMap?.items ?? []).find(
    (i) => `${mount.mountPath}/${i.path}` === path,
  );
  return { mount, volume, item };
}

/**
 * What makes a rendered environment a development one: the built-in issuer, its documented
 * client secrets, compose's dev-only defaults, the dev namespace, and a plaintext NATS URL (the
 * dev overlay's open server). Answers each finding as `<where>: <what>`.
 */
function devFindings(objects: K8sObject[]): string[] {
  const findings: string[] = [];
  const text = JSON.stringify(objects);
  for (const marker of [
    '-dev-secret',
    'dev-only',
    'orgmesh-compose-dev',
    'orgmesh-dev',
    'AUTH_DEV_CLIENTS',
    'AUTH_DEV_REGISTRY_DIR',
  ])
    if (text.includes(marker)) findings.push(`rendered overlay: ${marker}`);
  for (const configMap of ofKind(objects, 'ConfigMap')) {
    const data = (configMap['data'] ?? {}) as Record<string, string>;
    if (data['AUTH_MODE'] === 'dev') findings.push(`ConfigMap/${configMap.metadata.name}: AUTH_MODE=dev`);
    for (const [key, value] of Object.entries(data))
      if (/^nats:\/\//.test(value))
        findings.push(`ConfigMap/${configMap.metadata.name}: ${key} plaintext NATS`);
  }
  for (const object of ofKind(objects, 'Deployment').concat(ofKind(objects, 'StatefulSet'))) {
    for (const container of containersOf(object)) {
      const env = resolveEnv(container, objects);
      const value = (name: string) => env.find((e) => e.name === name)?.value;
      if (value('AUTH_MODE') === 'dev') findings.push(`${object.metadata.name}: AUTH_MODE=dev`);
      const url = value('NATS_URL');
      if (url !== undefined && !url.startsWith('tls://'))
        findings.push(`${object.metadata.name}: NATS_URL ${url}`);
      if (url !== undefined && !env.some((e) => e.name === 'NATS_NKEY_SEED_FILE'))
        findings.push(`${object.metadata.name}: anonymous NATS (no NATS_NKEY_SEED_FILE)`);
      for (const e of env)
        if (
          /(SECRET|KEY|PASSWORD|TOKEN)/.test(e.name) &&
          e.name !== 'NATS_NKEY_SEED_FILE' &&
          e.source !== 'secret'
        )
          findings.push(`${object.metadata.name}: ${e.name} is not read from a Secret`);
    }
  }
  return findings;
}

describe('prod: NATS over TLS with per-identity NKeys', () => {
  const prod = kustomizeBuild(join(K8S, 'overlays', 'prod'));
  const dev = kustomizeBuild(join(K8S, 'overlays', 'dev'));
  const config = find(prod, 'ConfigMap', 'orgmesh-config')!['data'] as Record<string, string>;
  const tls = readYamlDocuments(join(K8S, 'platform', 'nats-tls.yaml')) as Array<{
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
    spec: Record<string, unknown>;
  }>;
  const values = readYamlDocuments(join(K8S, 'platform', 'nats-values.yaml'))[0] as {
    tlsCA: { enabled: boolean; secretName: string; key: string };
    config: {
      nats: { tls: { enabled: boolean; secretName: string } };
      cluster: { tls: { enabled: boolean; secretName: string; merge?: Record<string, unknown> } };
      merge: Record<string, unknown>;
    };
    container: {
      patch: Array<{
        op: string;
        path: string;
        value: { name: string; mountPath: string; readOnly?: boolean };
      }>;
    };
    podTemplate: { patch: Array<{ op: string; path: string; value: Volume }> };
  };
  const certificate = (name: string) =>
    tls.find((o) => o.kind === 'Certificate' && o.metadata.name === name)!;
  const issuer = (name: string) => tls.find((o) => o.kind === 'Issuer' && o.metadata.name === name);
  const serverCert = certificate('nats-server-tls');

  it('connects over tls:// to a name the NATS servers’ certificate carries', () => {
    const url = new URL(config['NATS_URL']!);
    expect(url.protocol).toBe('tls:');
    expect(serverCert.spec['dnsNames']).toContain(url.hostname);
    expect(serverCert.metadata.namespace).toBe(url.hostname.split('.')[1]);
  });

  it('gives every Deployment the bus CA (NATS_TLS_CA_FILE, a mounted ca.crt) and its own seed (NATS_NKEY_SEED_FILE)', () => {
    const deployments = ofKind(prod, 'Deployment');
    expect(deployments.length).toBeGreaterThanOrEqual(8);
    for (const object of deployments) {
      const [container] = containersOf(object);
      const env = resolveEnv(container!, prod);
      const caFile = env.find((e) => e.name === 'NATS_TLS_CA_FILE')?.value;
      const behind = fileBehind(object, container!, caFile ?? '');
      expect([object.metadata.name, behind?.volume?.configMap?.name, behind?.item?.key]).toEqual([
        object.metadata.name,
        'orgmesh-nats-ca',
        'ca.crt',
      ]);
      expect(behind?.mount).toMatchObject({ readOnly: true });
      const seedFile = env.find((e) => e.name === 'NATS_NKEY_SEED_FILE')?.value;
      const seed = fileBehind(object, container!, seedFile ?? '');
      expect(seed?.volume?.secret?.items).toHaveLength(1);
    }
  });

  it('issues the servers’ certificate from a private CA whose key survives renewal (cert-manager)', () => {
    for (const object of tls) {
      expect(object.apiVersion).toBe('cert-manager.io/v1');
      expect(object.metadata.namespace).toBe('nats');
    }
    const caIssuer = issuer((serverCert.spec['issuerRef'] as { name: string }).name)!;
    const caSecret = (caIssuer.spec['ca'] as { secretName: string }).secretName;
    const ca = tls.find((o) => o.kind === 'Certificate' && o.spec['secretName'] === caSecret)!;
    expect(ca.spec).toMatchObject({ isCA: true, privateKey: { rotationPolicy: 'Never' } });
    expect(issuer((ca.spec['issuerRef'] as { name: string }).name)?.spec).toEqual({ selfSigned: {} });
    expect(serverCert.spec['usages']).toEqual(expect.arrayContaining(['server auth', 'client auth']));
    // Routes connect to <pod>.<headless service>: the certificate must name those too.
    expect(serverCert.spec['dnsNames']).toEqual(
      expect.arrayContaining(['*.nats-headless', '*.nats-headless.nats.svc.cluster.local']),
    );
  });

  it('has the Helm values serve TLS from that certificate on clients and routes, never the CA’s own key', () => {
    const secret = serverCert.spec['secretName'];
    expect(values.config.nats.tls).toMatchObject({ enabled: true, secretName: secret });
    expect(values.config.cluster.tls).toMatchObject({
      enabled: true,
      secretName: secret,
      merge: { verify: true },
    });
    expect(values.tlsCA).toMatchObject({ enabled: true, secretName: secret, key: 'ca.crt' });
    const text = readFileSync(join(K8S, 'platform', 'nats-values.yaml'), 'utf8');
    expect(text).not.toContain('secretName: orgmesh-nats-ca');
  });

  it('has the Helm values load the generated users from the orgmesh-nats-auth Secret, and no user of their own', () => {
    const [include, ...others] = Object.entries(values.config.merge).filter(([key]) =>
      key.endsWith('$include'),
    );
    expect(others).toEqual([]);
    // The chart includes relative to /etc/nats-config (nats-server joins even absolute paths to it).
    const included = posix.normalize(posix.join('/etc/nats-config', String(include![1])));
    const volume = values.podTemplate.patch.find((p) => p.path === '/spec/volumes/-')!.value;
    const mount = values.container.patch.find((p) => p.path === '/volumeMounts/-')!.value;
    expect(mount).toMatchObject({ name: volume.name, readOnly: true });
    expect(volume.secret).toEqual({
      secretName: 'orgmesh-nats-auth',
      items: [{ key: 'nats-auth.conf', path: posix.relative(mount.mountPath, included) }],
    });
    expect(included.startsWith(`${mount.mountPath}/`)).toBe(true);
    for (const key of ['authorization', 'accounts', 'no_auth_user'])
      expect(Object.keys(values.config.merge)).not.toContain(key);
    // The README creates that Secret from the generated file, in the NATS servers' namespace.
    const readme = readFileSync(join(K8S, 'README.md'), 'utf8').replace(/\\\n\s*/g, ' ');
    expect(readme).toMatch(
      /kubectl -n nats create secret generic orgmesh-nats-auth\s+--from-file=nats-auth\.conf=\S*nats-auth\.conf/,
    );
    expect(readme).toMatch(/kubectl -n orgmesh create configmap orgmesh-nats-ca\s+--from-file=ca\.crt=/);
  });

  (natsServer ? it : it.skip)(
    'the include path of the values loads a generated nats-auth.conf (`nats-server -t`)',
    () => {
      const root = mkdtempSync(join(tmpdir(), 'orgmesh-helm-include-'));
      try {
        const include = String(
          Object.entries(values.config.merge).find(([key]) => key.endsWith('$include'))![1],
        );
        const generated = generateSecuredBus({
          outDir: join(root, 'gen'),
          namespace: { subjectPrefix: '', nameSuffix: '' },
        });
        const target = join(root, 'etc', 'nats-config', include);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(generated.authFile, target);
        const conf = join(root, 'etc', 'nats-config', 'nats.conf');
        mkdirSync(dirname(conf), { recursive: true });
        writeFileSync(conf, `port: 4222\ninclude "${include}"\n`);
        execFileSync(natsServer!, ['-t', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
        // And the same file without the include is an open server: the include is what secures it.
        expect(readFileSync(target, 'utf8')).toMatch(/authorization\s*\{/);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  );

  it('pins the registry’s profile-signing key in the privacy proxy, from the key the registry must have', () => {
    const proxy = resolveEnv(containersOf(find(prod, 'Deployment', 'privacy-proxy')!)[0]!, prod);
    expect(proxy.find((e) => e.name === 'PRIVACY_PROFILE_JWKS')).toMatchObject({
      source: 'secret',
      optional: false,
      secret: { name: 'orgmesh-signing-keys', key: 'registry-profile-jwks' },
    });
    const registry = resolveEnv(containersOf(find(prod, 'Deployment', 'registry')!)[0]!, prod);
    expect(registry.find((e) => e.name === 'REGISTRY_SIGNING_KEY')).toMatchObject({
      source: 'secret',
      optional: false,
      secret: { name: 'orgmesh-signing-keys', key: 'registry-profile-key' },
    });
  });

  it('the README derives registry-profile-jwks with the kid the registry signs with', async () => {
    const readme = readFileSync(join(K8S, 'README.md'), 'utf8');
    const script = /node -e '\n([\s\S]*?)\n' > registry-profile\.jwks\.json/.exec(readme)?.[1];
    expect(script).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-jwks-'));
    try {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      writeFileSync(join(dir, 'registry-es256.pem'), pem);
      const jwks = JSON.parse(
        execFileSync(process.execPath, ['-e', script!], { cwd: dir, encoding: 'utf8' }),
      ) as {
        keys: unknown[];
      };
      const key = await profileSigningKey(pem);
      expect(jwks).toEqual({ keys: [key.publicJwk] });
      // And the privacy proxy accepts it as its pinned JWKS.
      expect(() =>
        loadPrivacyProxyConfig({
          PRIVACY_HMAC_KEY: 'x'.repeat(32),
          PRIVACY_UPSTREAM_OPENAI_URL: 'https://api.openai.com/v1',
          PRIVACY_PROFILE_JWKS: JSON.stringify(jwks),
        }),
      ).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders no development credential, built-in issuer or anonymous/plaintext NATS', () => {
    expect(devFindings(prod)).toEqual([]);
  });

  it('(the check itself) finds them in the dev overlay', () => {
    const findings = devFindings(dev);
    expect(findings).toEqual(expect.arrayContaining(['ConfigMap/orgmesh-config: AUTH_MODE=dev']));
    expect(findings.some((f) => f.includes('plaintext NATS'))).toBe(true);
    expect(findings.some((f) => f.includes('anonymous NATS'))).toBe(true);
  });
});

interface ComposeService {
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  user?: string;
  cap_add?: string[];
  cap_drop?: string[];
  network_mode?: string;
}

describe('compose: generated dev credentials, each process only its own', () => {
  const compose = parse(readFileSync(join(COMPOSE_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const services = compose.services;
  const generator = services['nats-config']!;
  /** The volume nats-config writes each identity's seed into: volume → identity. */
  const seedVolumes = new Map(
    generator
      .volumes!.map((v) => v.split(':'))
      .filter(([, target]) => target!.startsWith('/out/') && target !== '/out/nats')
      .map(([source, target]) => [source!, target!.slice('/out/'.length)]),
  );
  const natsClients = Object.entries(services).filter(([, s]) => s.environment?.['NATS_URL'] !== undefined);
  /** The bus identity of a compose service: the service itself, or `agent-<AGENT_ID>` for an agent. */
  const identityOf = (name: string, service: ComposeService) =>
    service.environment?.['AGENT_ROLE'] ? `agent-${service.environment['AGENT_ROLE']}-agent` : name;

  it('mounts into every NATS client exactly one seed volume, read-only, holding its own identity’s seed', () => {
    expect(natsClients.map(([name]) => name).sort()).toEqual([
      'agent-finance',
      'agent-legal',
      'agent-manager',
      'gateway',
      'mesh-router',
      'privacy-proxy',
      'registry',
      'sessions',
    ]);
    const used = new Set<string>();
    for (const [name, service] of natsClients) {
      const seedFile = service.environment!['NATS_NKEY_SEED_FILE'];
      expect([name, seedFile]).toEqual([name, '/var/run/orgmesh/nats/seed']);
      const mounts = (service.volumes ?? [])
        .map((v) => v.split(':'))
        .filter(([source]) => source!.startsWith('nats-'));
      expect([name, mounts]).toEqual([name, [[expect.any(String), posix.dirname(seedFile!), 'ro']]]);
      const volume = mounts[0]![0]!;
      expect([name, seedVolumes.get(volume)]).toEqual([name, identityOf(name, service)]);
      expect(used.has(volume)).toBe(false);
      used.add(volume);
      expect(compose.volumes).toHaveProperty(volume);
    }
  });

  it('starts NATS after nats-config, with the generated users included and no other mount of the credentials', () => {
    const nats = services['nats']!;
    expect(nats.depends_on?.['nats-config']).toEqual({ condition: 'service_completed_successfully' });
    const auth = nats.volumes!.map((v) => v.split(':')).find(([source]) => source === 'nats-auth');
    expect(auth).toEqual(['nats-auth', '/etc/nats/auth', 'ro']);
    expect(readFileSync(join(COMPOSE_DIR, 'nats.conf'), 'utf8')).toMatch(
      /^include "auth\/nats-auth\.conf"$/m,
    );
    expect(generator.volumes).toContain('nats-auth:/out/nats');
    // The generator's own copy of every seed is mounted nowhere else.
    for (const [name, service] of Object.entries(services))
      if (name !== 'nats-config')
        expect([name, (service.volumes ?? []).some((v) => v.startsWith('nats-generator:'))]).toEqual([
          name,
          false,
        ]);
    expect(generator).toMatchObject({
      user: '0:0',
      cap_add: ['CHOWN'],
      cap_drop: ['ALL'],
      network_mode: 'none',
    });
  });

  /**
   * Runs the nats-config entrypoint on this machine: /app → the repository (built libs), the
   * volumes → directories. Answers the root of the volume directories.
   */
  function runGenerator(root: string, ...args: string[]): void {
    const [shell, flag, script, name] = generator.entrypoint!;
    const local = script!
      .replaceAll('$$', '$')
      .replaceAll('/app/', `${REPO_ROOT}/`)
      .replaceAll('/var/lib/orgmesh/nats-generator', join(root, 'generator'))
      .replaceAll('/out/', `${root}/out/`)
      // Giving the seeds to uid 1000 needs root; the mode is what this run can check.
      .replaceAll('-o 1000 -g 1000 ', process.getuid?.() === 0 ? '-o 1000 -g 1000 ' : '');
    for (const target of generator.volumes!.map((v) => v.split(':')[1]!).filter((t) => t.startsWith('/out/')))
      mkdirSync(join(root, target), { recursive: true });
    execFileSync(shell!, [flag!, local, name!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  const seedsOf = (root: string) =>
    Object.fromEntries(
      [...seedVolumes.values()].map((id) => [id, readFileSync(join(root, 'out', id, 'seed'), 'utf8')]),
    );

  it('its script writes each identity’s seed (mode 0400) and the users NATS runs; seeds survive a rerun, --rotate replaces them', () => {
    execFileSync(process.execPath, ['scripts/build.mjs', 'libs'], { cwd: REPO_ROOT, stdio: 'ignore' });
    const root = mkdtempSync(join(tmpdir(), 'orgmesh-compose-nats-config-'));
    try {
      expect(generator.entrypoint![2]).toContain('install -o 1000 -g 1000 -m 0400');
      runGenerator(root);
      const auth = readFileSync(join(root, 'out', 'nats', 'nats-auth.conf'), 'utf8');
      const first = seedsOf(root);
      for (const [identity, seed] of Object.entries(first)) {
        const publicKey = nkeys.fromSeed(new TextEncoder().encode(seed.trim())).getPublicKey();
        // The user block of this identity carries this seed's public key.
        expect([identity, new RegExp(`# ${identity}\\n\\s*\\{ nkey: "${publicKey}"`).test(auth)]).toEqual([
          identity,
          true,
        ]);
        const stat = execFileSync('stat', ['-c', '%a', join(root, 'out', identity, 'seed')], {
          encoding: 'utf8',
        }).trim();
        expect([identity, stat]).toEqual([identity, '400']);
      }
      if (natsServer) {
        const etc = join(root, 'etc-nats');
        mkdirSync(join(etc, 'auth'), { recursive: true });
        copyFileSync(join(COMPOSE_DIR, 'nats.conf'), join(etc, 'nats.conf'));
        copyFileSync(join(root, 'out', 'nats', 'nats-auth.conf'), join(etc, 'auth', 'nats-auth.conf'));
        execFileSync(natsServer, ['-t', '-c', join(etc, 'nats.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
      }
      // A restart of the stack reruns it over its own output.
      runGenerator(root);
      expect(seedsOf(root)).toEqual(first);
      runGenerator(root, '--rotate');
      const rotated = seedsOf(root);
      for (const id of Object.keys(first)) expect(rotated[id]).not.toBe(first[id]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
