import { approvalRoutes } from './approvals.routes.js';
import { meshRoutes } from './mesh.routes.js';
import { privacyRoutes } from './privacy.routes.js';
import { registryRoutes } from './registry.routes.js';
import { sessionRoutes } from './sessions.routes.js';
import { usageRoutes } from './usage.routes.js';
import type { Route } from './route.js';

/** Every REST operation that translates to NATS RPCs (SSE and identity routes are added by the app). */
export const API_ROUTES: readonly Route[] = [
  ...sessionRoutes,
  ...meshRoutes,
  ...approvalRoutes,
  ...registryRoutes,
  ...usageRoutes,
  ...privacyRoutes,
];
