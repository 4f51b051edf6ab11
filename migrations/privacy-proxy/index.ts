import { CreateLlmUsage1738000000000 } from './1738000000000-create-llm-usage.js';
import { CreateRedactionCounts1739000000000 } from './1739000000000-create-redaction-counts.js';

export const PRIVACY_PROXY_SCHEMA = 'privacy_proxy';
export const PRIVACY_PROXY_MIGRATIONS = [CreateLlmUsage1738000000000, CreateRedactionCounts1739000000000];
