import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import './index.js';
import { allContracts } from './define.js';
import { SUBJECT_TABLE_BEGIN, SUBJECT_TABLE_END, subjectTable, withSubjectTable } from './subject-table.js';

const doc = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'architecture.md'),
  'utf8',
);
const REGENERATE = 'npm run build && node libs/contracts/dist/write-subject-table.js';

describe('docs/architecture.md', () => {
  it('names every contract subject', () => {
    const missing = allContracts()
      .map((c) => c.subject)
      .filter((subject) => !doc.includes(`\`${subject}\``));
    expect(missing).toEqual([]);
  });

  it(`holds the subject table as the contracts compute it (${REGENERATE})`, () => {
    expect(doc.indexOf(SUBJECT_TABLE_BEGIN)).toBeGreaterThanOrEqual(0);
    expect(doc.indexOf(SUBJECT_TABLE_END)).toBeGreaterThan(doc.indexOf(SUBJECT_TABLE_BEGIN));
    // Compared line by line so a failure shows the rows that differ.
    expect(withSubjectTable(doc, subjectTable()).split('\n')).toEqual(doc.split('\n'));
  });

  it('links only inside the repository', () => {
    expect(doc).not.toMatch(/\]\(\.\.\/\.\.\/|\.\.\/shared\//);
  });
});

describe('subjectTable', () => {
  it('has one row per contract, with its owner, who else and its stream', () => {
    const table = subjectTable();
    expect(table.split('\n')).toHaveLength(allContracts().length + 2);
    expect(table).toContain(
      '| `rpc.mesh.v1.send-task` | RPC | `SendTask` | mesh-router serves | callers: gateway, agent | — |',
    );
    expect(table).toContain(
      '| `mesh.v1.inbox` (on `mesh.v1.inbox.>`) | event | `InboxDelivery` | mesh-router publishes | stream: agent; dead letters: mesh-router | `MESH_INBOX` |',
    );
  });
});
