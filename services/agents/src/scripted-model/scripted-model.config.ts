import { z } from 'zod';
import { env, parseConfig } from '@orgmesh/config';

/**
 * The scripted model's environment. It binds every interface by default because in compose and
 * Kubernetes the privacy proxy reaches it from another container; `npm start` binds it to loopback.
 */
export const ScriptedModelConfigSchema = z.object({
  SCRIPTED_MODEL_HOST: z.string().min(1).default('0.0.0.0'),
  SCRIPTED_MODEL_PORT: env.port(11434),
  /** Append every request body received (JSON lines) to this file: what an upstream provider would have seen. */
  SCRIPTED_MODEL_RECORD_FILE: env.optionalString(),
  /** Characters per SSE delta when streaming (small deltas exercise the proxy's restoring across events). */
  SCRIPTED_MODEL_CHUNK_CHARS: env.int(12, 1),
  LOG_LEVEL: env.logLevel(),
});
export type ScriptedModelConfig = z.infer<typeof ScriptedModelConfigSchema>;

export function loadScriptedModelConfig(
  source: Record<string, string | undefined> = process.env,
): ScriptedModelConfig {
  return parseConfig('scripted-model', ScriptedModelConfigSchema, source);
}
