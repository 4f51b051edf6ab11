import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';

/**
 * The way back of `rpc.privacy.v1.mask-text`: placeholders of that call in texts that came back from
 * outside (a remote A2A agent's answer) restored to the values they replaced. Only the caller the
 * handle was sealed for may open it, until it expires.
 */
export const RestoreText = defineRpc({
  subject: 'rpc.privacy.v1.restore-text',
  description:
    'Restores the placeholders of a mask-text call (its sealed handle) in texts that came back from outside; only for the ' +
    'caller the handle was made for, until it expires.',
  request: z.object({
    handle: safeText(z.string().min(1).max(4_000_000)),
    texts: z.array(safeText(z.string().max(1_000_000))).max(10_000),
  }),
  response: z.object({ texts: z.array(z.string()) }),
});
