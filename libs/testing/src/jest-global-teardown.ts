export default async function globalTeardown(): Promise<void> {
  await globalThis.__ORGMESH_INFRA__?.stop();
}
