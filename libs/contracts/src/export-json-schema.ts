// `npm run contracts:schema [-- <out-dir>]`: writes one JSON Schema file per contract subject plus an
// index, so NATS peers in any language can validate the wire format.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import './index.js';
import { allContractSchemas } from './json-schema.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] ?? join(here, '..', 'json-schema'));
const contracts = allContractSchemas();
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
for (const contract of contracts) {
  await writeFile(join(outDir, `${contract.subject}.json`), `${JSON.stringify(contract, null, 2)}\n`);
}
await writeFile(
  join(outDir, 'index.json'),
  `${JSON.stringify(contracts.map((c) => ({ kind: c.kind, subject: c.subject, file: `${c.subject}.json` })), null, 2)}\n`,
);
process.stdout.write(`wrote ${contracts.length} contract schemas to ${outDir}\n`);
