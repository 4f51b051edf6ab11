import { CreateRegistry1734000000000 } from './1734000000000-create-registry.js';

export const REGISTRY_SCHEMA = 'registry';
export const REGISTRY_MIGRATIONS = [CreateRegistry1734000000000];
