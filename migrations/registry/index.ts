import { CreateRegistry1734000000000 } from './1734000000000-create-registry.js';
import { RetentionIndexes1736000000000 } from './1736000000000-retention-indexes.js';
import { OrgImportParts1737000000000 } from './1737000000000-org-import-parts.js';

export const REGISTRY_SCHEMA = 'registry';
export const REGISTRY_MIGRATIONS = [CreateRegistry1734000000000, RetentionIndexes1736000000000, OrgImportParts1737000000000];
