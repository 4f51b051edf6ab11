// `npm run build && node libs/contracts/dist/write-subject-table.js`: rewrites the generated subject
// table of docs/architecture.md from the contracts (architecture-doc.spec.ts fails until it matches).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { subjectTable, withSubjectTable } from './subject-table.js';

const docPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'architecture.md');
const doc = await readFile(docPath, 'utf8');
const next = withSubjectTable(doc, subjectTable());
await writeFile(docPath, next);
process.stdout.write(
  next === doc ? `${docPath}: subject table already current\n` : `${docPath}: subject table rewritten\n`,
);
