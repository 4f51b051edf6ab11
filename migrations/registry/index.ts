import { CreateRegistry1734000000000 } from './1734000000000-create-registry.js';
import { RetentionIndexes1736000000000 } from './1736000000000-retention-indexes.js';
import { OrgImportParts1737000000000 } from './1737000000000-org-import-parts.js';
import { OrgDepartmentIndex1738500000000 } from './1738500000000-org-department-index.js';

export const REGISTRY_SCHEMA = 'registry';
export const REGISTRY_MIGRATIONS = [
  CreateRegistry1734000000000,
  RetentionIndexes1736000000000,
  OrgImportParts1737000000000,
  OrgDepartmentIndex1738500000000,
];
