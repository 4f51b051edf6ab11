/** Small helpers shared by the deployment specs. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { find } from './workloads.js';
import { readResources, REPO_ROOT } from './kustomize.js';
import type { ConfigSchemaInfo } from './service-catalog.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Listen-address keys (`*_HOST`) whose default is a loopback address: in a container such a
 * service would be unreachable, so a deployment must set them to all interfaces.
 */
export function loopbackListenKeys(schema: ConfigSchemaInfo): string[] {
  return schema.keys.filter((key) => key.endsWith('_HOST') && LOOPBACK.has(String(schema.defaultOf(key))));
}

/** A local nats-server binary (Debian package or PATH), if any. */
export function natsServerBinary(): string | undefined {
  const candidates = [
    process.env['NATS_SERVER_BIN'],
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ];
  for (const dir of (process.env['PATH'] ?? '').split(':'))
    if (dir) candidates.push(join(dir, 'nats-server'));
  return candidates.find((candidate): candidate is string => !!candidate && existsSync(candidate));
}

/** The nats.conf the dev overlay mounts into its NATS StatefulSet. */
export function kubernetesNatsConf(): string {
  const objects = readResources(join(REPO_ROOT, 'deploy', 'k8s', 'overlays', 'dev', 'nats.yaml'));
  const data = find(objects, 'ConfigMap', 'nats-config')?.['data'] as Record<string, string> | undefined;
  const conf = data?.['nats.conf'];
  if (!conf) throw new Error('deploy/k8s/overlays/dev/nats.yaml: no nats-config ConfigMap with nats.conf');
  return conf;
}
