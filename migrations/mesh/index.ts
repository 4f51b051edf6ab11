import { CreateMesh1733000000000 } from './1733000000000-create-mesh.js';
import { RetentionIndexes1736000000000 } from './1736000000000-retention-indexes.js';
import { Redelivery1737000000000 } from './1737000000000-redelivery.js';

export const MESH_SCHEMA = 'mesh';
export const MESH_MIGRATIONS = [CreateMesh1733000000000, RetentionIndexes1736000000000, Redelivery1737000000000];
