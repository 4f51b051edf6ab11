import { provisionInfrastructure, type Infrastructure } from './infrastructure.js';

declare global {
  var __ORGMESH_INFRA__: Infrastructure | undefined;
}

/** Resolves NATS and Postgres once per jest run and hands their URLs to the workers through the environment. */
export default async function globalSetup(): Promise<void> {
  const infra = await provisionInfrastructure((line) => process.stderr.write(`${line}\n`));
  process.env['ORGMESH_TEST_NATS_URL'] = infra.natsUrl;
  process.env['ORGMESH_TEST_DATABASE_URL'] = infra.databaseUrl;
  globalThis.__ORGMESH_INFRA__ = infra;
}
