import { createLogger } from '@orgmesh/telemetry';
import { loadScriptedModelConfig } from './scripted-model.config.js';
import { createScriptedModelServer, SCRIPTED_MODEL_LABEL } from './scripted-model.server.js';

const config = loadScriptedModelConfig();
const logger = createLogger({ service: 'scripted-model', level: config.LOG_LEVEL });
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

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    model.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
