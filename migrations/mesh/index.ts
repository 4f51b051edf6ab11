import { CreateMesh1733000000000 } from './1733000000000-create-mesh.js';

export const MESH_SCHEMA = 'mesh';
export const MESH_MIGRATIONS = [CreateMesh1733000000000];
