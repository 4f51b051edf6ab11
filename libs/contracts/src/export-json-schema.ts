// `npm run contracts:schema [-- <out-dir>]`: writes one JSON Schema file per contract subject plus an
// index, so NATS peers in any language can validate the wire format.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import './index.js';
import { allContractSchemas } from './json-schema.js';
import { OutputDirRefused, prepareOutputDir } from './json-schema-output.js';

const USAGE = `usage: npm run contracts:schema [-- <out-dir>]

Writes one JSON Schema file per contract subject and an index.json into <out-dir> (default:
libs/contracts/json-schema), so NATS peers in any language can validate the wire format. An existing
<out-dir> must be empty or hold an earlier run's output: only the files its index.json names are
replaced, and a directory holding anything else is refused.`;

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
// Before, any argument was the output directory, emptied first: `-- --help` made a directory of that
// name, and `-- .` would have deleted the repository.
if (args.length > 1 || args.some((arg) => arg.startsWith('-'))) {
  process.stderr.write(
    `contracts:schema: unexpected argument ${args.find((a) => a.startsWith('-')) ?? args[1]}\n\n${USAGE}\n`,
  );
  process.exit(2);
}
const outDir = resolve(args[0] ?? join(here, '..', 'json-schema'));
const contracts = allContractSchemas();
try {
  await prepareOutputDir(outDir);
} catch (error) {
  if (!(error instanceof OutputDirRefused)) throw error;
  process.stderr.write(`contracts:schema: ${error.message}\n`);
  process.exit(2);
}
await mkdir(outDir, { recursive: true });
for (const contract of contracts) {
  await writeFile(join(outDir, `${contract.subject}.json`), `${JSON.stringify(contract, null, 2)}\n`);
}
await writeFile(
  join(outDir, 'index.json'),
  `${JSON.stringify(contracts.map((c) => ({ kind: c.kind, subject: c.subject, file: `${c.subject}.json` })), null, 2)}\n`,
);
process.stdout.write(`wrote ${contracts.length} contract schemas to ${outDir}\n`);
