export {
  AGENT_ROLES,
  AgentsConfigSchema,
  loadAgentsConfig,
  type AgentRole,
  type AgentsConfig,
} from './agents.config.js';
export { startAgentsApp, type AgentsApp, type AgentsAppOptions } from './agents.app.js';
export {
  ScriptedModelConfigSchema,
  loadScriptedModelConfig,
  type ScriptedModelConfig,
} from './scripted-model/scripted-model.config.js';
export {
  createScriptedModelServer,
  SCRIPTED_MODEL_ID,
  SCRIPTED_MODEL_LABEL,
  type ScriptedModelServer,
} from './scripted-model/scripted-model.server.js';
export { scriptedTurn, type ScriptedTurn } from './scripted-model/scenario.script.js';
