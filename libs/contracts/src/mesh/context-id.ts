import { z } from 'zod';
import { safeText } from '../safe-input.js';

/**
 * The A2A contextId a caller names (a workflow): stored with tasks and sessions and used as a list
 * filter, so NUL and lone surrogates are refused at the edge.
 */
export const ContextId = safeText(z.string().min(1).max(200));
