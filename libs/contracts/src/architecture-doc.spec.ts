import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import './index.js';
import { allContracts } from './define.js';
import { SUBJECT_TABLE_BEGIN, SUBJECT_TABLE_END, subjectTable, withSubjectTable } from './subject-table.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');

/** The relative link targets of a Markdown file that do not exist (or lie outside the repository). */
function brokenLinks(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const targets = [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1] ?? '');
  return targets
    .filter((target) => !/^[a-z]+:/.test(target))
    .filter((target) => {
      const path = join(root, dirname(file), target);
      return !path.startsWith(`${root}/`) || !existsSync(path);
    });
}
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

  it('links only inside the repository, to files that exist', () => {
    for (const file of ['docs/architecture.md', 'docs/style.md', 'README.md']) {
      expect({ file, broken: brokenLinks(file) }).toEqual({ file, broken: [] });
    }
    // The README sends readers here, not to a design document outside the repository.
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('(docs/architecture.md)');
    expect(readme).not.toContain('../shared/');
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
