import { describe, expect, it } from '@jest/globals';
import { ORG_IMPORT_PART_MAX_CHARS } from './import-org.rpc.js';
import {
  ORG_IMPORT_PART_MAX_ENCODED_BYTES,
  fitToMessages,
  sendOrgImport,
  splitCsv,
  type OrgImportTransport,
} from './org-import-parts.js';

describe('splitCsv', () => {
  const csv = 'user_id,name\nu-1,Ann\nu-2,Bo\nu-3,Cy\n';

  it('cuts after line ends, within the limit, and joins back to the same text', () => {
    const parts = splitCsv(csv, 14);
    expect(parts.join('')).toBe(csv);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(14);
      expect(part.endsWith('\n')).toBe(true);
    }
    expect(parts.length).toBeGreaterThan(1);
  });

  it('keeps a CSV that fits as one part, and a last line without newline', () => {
    expect(splitCsv(csv, 1000)).toEqual([csv]);
    expect(splitCsv('a\nbb', 3)).toEqual(['a\n', 'bb']);
  });

  it('cuts a line longer than the limit inside the line rather than loop', () => {
    const parts = splitCsv('x'.repeat(10), 4);
    expect(parts).toEqual(['xxxx', 'xxxx', 'xx']);
  });
});

describe('fitToMessages', () => {
  it('halves parts whose encoding is past a message, so multi-byte text still travels', () => {
    const line = `${'日本語の名前'.repeat(10_000)}\n`; // 60,001 characters, ~180 KB as UTF-8
    const parts = fitToMessages(splitCsv(line.repeat(8), 256 * 1024));
    expect(parts.join('')).toBe(line.repeat(8));
    for (const part of parts)
      expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(ORG_IMPORT_PART_MAX_ENCODED_BYTES);
  });

  it('keeps ASCII parts as they are', () => {
    const parts = splitCsv('a,b\n'.repeat(100_000), 256 * 1024);
    expect(fitToMessages(parts)).toEqual(parts);
  });
});

describe('sendOrgImport', () => {
  function recorder() {
    const parts = new Map<number, { uploadId: string; csv: string }>();
    const commits: Array<Parameters<OrgImportTransport['commit']>[0]> = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const transport: OrgImportTransport = {
      async part(request) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        parts.set(request.index, { uploadId: request.uploadId, csv: request.csv });
        inFlight--;
        return request;
      },
      async commit(request) {
        commits.push(request);
        return { orgVersion: 1, users: 0, importedAt: new Date(0).toISOString() };
      },
    };
    return { transport, parts, commits, maxInFlight: () => maxInFlight };
  }

  it('sends a CSV that fits one part in the commit itself', async () => {
    const sent = recorder();
    await sendOrgImport('user_id,name\nu-1,Ann\n', 'org.csv', sent.transport);
    expect(sent.parts.size).toBe(0);
    expect(sent.commits).toEqual([{ csv: 'user_id,name\nu-1,Ann\n', fileName: 'org.csv' }]);
  });

  it('sends a larger CSV as parts of one upload, a few at a time, then commits their count', async () => {
    const csv = 'u-1234567,u-0000001,Some Body,finance,some.body@example.com,Finance\n'.repeat(20_000);
    const sent = recorder();
    await sendOrgImport(csv, undefined, sent.transport);
    const count = sent.parts.size;
    expect(count).toBeGreaterThanOrEqual(Math.ceil(csv.length / ORG_IMPORT_PART_MAX_CHARS));
    const uploadIds = new Set([...sent.parts.values()].map((p) => p.uploadId));
    expect(uploadIds.size).toBe(1);
    // Indices 0…count-1, each once, and joined in index order they are the CSV again.
    const joined = Array.from({ length: count }, (_, i) => sent.parts.get(i)!.csv).join('');
    expect(joined).toBe(csv);
    expect(sent.commits).toEqual([
      { upload: { uploadId: [...uploadIds][0], parts: count }, fileName: undefined },
    ]);
    expect(sent.maxInFlight()).toBeGreaterThan(1);
    expect(sent.maxInFlight()).toBeLessThanOrEqual(4);
  });

  it('does not commit when a part fails', async () => {
    const sent = recorder();
    const failing: OrgImportTransport = {
      part: async (request) => {
        if (request.index === 2) throw new Error('part refused');
        return sent.transport.part(request);
      },
      commit: sent.transport.commit,
    };
    await expect(sendOrgImport('a,b\n'.repeat(300_000), 'x.csv', failing)).rejects.toThrow('part refused');
    expect(sent.commits).toHaveLength(0);
  });
});
