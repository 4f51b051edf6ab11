import { CreateLlmUsage1738000000000 } from './1738000000000-create-llm-usage.js';

export const PRIVACY_PROXY_SCHEMA = 'privacy_proxy';
export const PRIVACY_PROXY_MIGRATIONS = [CreateLlmUsage1738000000000];
