// The scripted model's process, also reachable under this name; the deploy manifests start
// services/agents/dist/scripted-model/main.js directly.
import './scripted-model/main.js';
