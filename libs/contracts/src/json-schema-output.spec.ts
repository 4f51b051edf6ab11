import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { OutputDirRefused, prepareOutputDir } from './json-schema-output.js';

describe('prepareOutputDir (npm run contracts:schema)', () => {
  const made: string[] = [];
  const dir = (files: Record<string, string> = {}) => {
    const root = mkdtempSync(join(tmpdir(), 'orgmesh-schema-out-'));
    made.push(root);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
    return root;
  };
  afterEach(() => {
    for (const root of made.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it('accepts a missing or an empty directory and leaves it as it is', async () => {
    const root = dir();
    await prepareOutputDir(join(root, 'new'));
    await prepareOutputDir(root);
    expect(readdirSync(root)).toEqual([]);
  });

  it("deletes an earlier run's files, those its index names, and nothing else", async () => {
    const index = JSON.stringify([
      { kind: 'event', subject: 'a.v1.x', file: 'a.v1.x.json' },
      { kind: 'rpc', subject: 'rpc.b.v1.y', file: 'rpc.b.v1.y.json' },
      // An index naming a path elsewhere deletes nothing there.
      { kind: 'rpc', subject: 'evil', file: '../outside.json' },
    ]);
    const root = dir({
      'index.json': index,
      'a.v1.x.json': '{}',
      'rpc.b.v1.y.json': '{}',
      'kept.json': '{}',
    });
    writeFileSync(join(root, '..', 'outside.json'), '{}');
    made.push(join(root, '..', 'outside.json'));
    await prepareOutputDir(root);
    expect(readdirSync(root)).toEqual(['kept.json']);
    expect(readdirSync(join(root, '..'))).toContain('outside.json');
  });

  it('refuses a directory that holds anything else, naming it, and deletes nothing', async () => {
    const repository = dir({ 'package.json': '{}', 'README.md': '# x' });
    mkdirSync(join(repository, 'src'));
    await expect(prepareOutputDir(repository)).rejects.toThrow(OutputDirRefused);
    await expect(prepareOutputDir(repository)).rejects.toThrow(/README\.md/);
    expect(readdirSync(repository).sort()).toEqual(['README.md', 'package.json', 'src']);
    // Only .json files, but no index: not an earlier run either.
    const noIndex = dir({ 'a.json': '{}' });
    await expect(prepareOutputDir(noIndex)).rejects.toThrow(OutputDirRefused);
    expect(readdirSync(noIndex)).toEqual(['a.json']);
    // An index.json that is not one: refused too, by name.
    const badIndex = dir({ 'index.json': 'not json', 'a.json': '{}' });
    await expect(prepareOutputDir(badIndex)).rejects.toThrow(/index\.json is not/);
    expect(readdirSync(badIndex).sort()).toEqual(['a.json', 'index.json']);
  });

  it('refuses a file named as the directory', async () => {
    const root = dir({ 'schemas.json': '{}' });
    await expect(prepareOutputDir(join(root, 'schemas.json'))).rejects.toThrow(/is a file/);
  });
});
