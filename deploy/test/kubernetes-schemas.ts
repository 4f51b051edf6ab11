/**
 * Validation of rendered objects against the Kubernetes API's JSON schemas, as shipped by the npm
 * package `kubernetes-models` (generated from the Kubernetes OpenAPI document, compiled with ajv).
 * Every kind deploy/ produces must be listed here: an object of an unlisted kind is an error, never
 * silently skipped.
 *
 * The package's schemas, like kubeconform's default mode, do not reject unknown fields; the
 * manifest tests therefore also assert the fields that matter (probes, resources, security) exist.
 */
import type { K8sObject } from './kustomize.js';

interface SchemaError {
  instancePath: string;
  keyword: string;
  params: unknown;
  message?: string;
}
interface CompiledSchema {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

/** apiVersion/kind → module under kubernetes-models/_schemas. */
export const SCHEMA_MODULES: Readonly<Record<string, string>> = {
  'v1/ConfigMap': 'IoK8sApiCoreV1ConfigMap',
  'v1/Namespace': 'IoK8sApiCoreV1Namespace',
  'v1/PersistentVolumeClaim': 'IoK8sApiCoreV1PersistentVolumeClaim',
  'v1/Secret': 'IoK8sApiCoreV1Secret',
  'v1/Service': 'IoK8sApiCoreV1Service',
  'v1/ServiceAccount': 'IoK8sApiCoreV1ServiceAccount',
  'apps/v1/Deployment': 'IoK8sApiAppsV1Deployment',
  'apps/v1/StatefulSet': 'IoK8sApiAppsV1StatefulSet',
  'autoscaling/v2/HorizontalPodAutoscaler': 'IoK8sApiAutoscalingV2HorizontalPodAutoscaler',
  'batch/v1/Job': 'IoK8sApiBatchV1Job',
  'networking.k8s.io/v1/NetworkPolicy': 'IoK8sApiNetworkingV1NetworkPolicy',
  'policy/v1/PodDisruptionBudget': 'IoK8sApiPolicyV1PodDisruptionBudget',
};

export type KubernetesValidator = (object: K8sObject) => string[];

/** Loads the compiled schemas once; the returned function lists an object's violations (empty = valid). */
export async function loadKubernetesValidator(): Promise<KubernetesValidator> {
  const compiled = new Map<string, CompiledSchema>();
  await Promise.all(
    Object.entries(SCHEMA_MODULES).map(async ([key, module]) => {
      const loaded = (await import(`kubernetes-models/_schemas/${module}`)) as { validate: CompiledSchema };
      compiled.set(key, loaded.validate);
    }),
  );
  return (object) => {
    const key = `${object.apiVersion}/${object.kind}`;
    const validate = compiled.get(key);
    if (!validate) return [`no Kubernetes schema registered for ${key}`];
    // The schemas describe JSON: round-trip to drop anything YAML-specific.
    if (validate(JSON.parse(JSON.stringify(object)))) return [];
    return (validate.errors ?? []).map(
      (error) =>
        `${error.instancePath || '/'}: ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`,
    );
  };
}
