import { runService } from '@orgmesh/telemetry';
import { loadScriptedModelConfig } from './scripted-model.config.js';
import { createScriptedModelServer, SCRIPTED_MODEL_LABEL } from './scripted-model.server.js';

const config = loadScriptedModelConfig();
await runService({
  service: 'scripted-model',
  config,
  start: async (logger) => {
    const model = createScriptedModelServer({
      logger,
      recordFile: config.SCRIPTED_MODEL_RECORD_FILE,
      chunkChars: config.SCRIPTED_MODEL_CHUNK_CHARS,
    });
    const url = await model.listen(config.SCRIPTED_MODEL_PORT, config.SCRIPTED_MODEL_HOST);
    logger.info(
      { url, label: SCRIPTED_MODEL_LABEL, recording: Boolean(config.SCRIPTED_MODEL_RECORD_FILE) },
      'scripted model listening — deterministic, not an LLM',
    );
    return model;
  },
});
