import { defineRpc } from '../define.js';
import { GetDirectory } from './get-directory.rpc.js';

/**
 * The org directory for an administrator (the gateway's `GET /v1/users`): the same pages as
 * `rpc.registry.v1.directory`, on a subject of its own because the bus lets only the privacy
 * proxy's service identity ask that one (ADR 0011). The registry answers only a forwarded JWT it
 * verifies itself as an admin's; the gateway's own check is not enough.
 */
export const GetAdminDirectory = defineRpc({
  subject: 'rpc.registry.v1.admin-directory',
  description:
    "The org's people for an admin: the directory's pages, answered only for a forwarded admin token the registry " +
    'verifies. Personal data: never log it.',
  request: GetDirectory.request,
  response: GetDirectory.response,
});
