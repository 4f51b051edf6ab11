import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configHash, type RenderedFile } from '@orgmesh/contracts';
import { ROLE_DEFINITIONS } from '../roles/role.definitions.js';
import { builtInConfig, registryConfig } from './agent.config-source.js';

// The registry's golden render of finance-agent for Goose (read as data, byte for byte as the registry
// renders it; its own spec checks that it expects exactly configHash of these files).
const GOLDEN = fileURLToPath(new URL('../../../registry/test/golden/finance-agent/goose', import.meta.url));

async function goldenFiles(): Promise<RenderedFile[]> {
  const entries = await readdir(GOLDEN, { withFileTypes: true, recursive: true });
  return Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => {
        const path = join(e.parentPath, e.name);
        return { path: relative(GOLDEN, path), content: await readFile(path, 'utf8') };
      }),
  );
}

describe('registryConfig', () => {
  it("runs on the registry's render and reports the hash the registry expects for it (no drift)", async () => {
    const files = await goldenFiles();
    const config = registryConfig(files);
    expect(config).toMatchObject({ source: 'registry', model: 'gpt-4o-mini', format: 'goose' });
    expect(config?.instructions).toBe(files.find((f) => f.path === '.goosehints')?.content);
    expect(config?.configHash).toBe(configHash(files));
  });

  it('keeps an operator model override and has no config without instructions', async () => {
    const files = await goldenFiles();
    expect(registryConfig(files, 'local-model')?.model).toBe('local-model');
    expect(registryConfig(files.filter((f) => f.path !== '.goosehints'))).toBeUndefined();
  });
});

describe('builtInConfig', () => {
  it('hashes its own instructions and model, which the registry sees as drift', () => {
    const [role, definition] = Object.entries(ROLE_DEFINITIONS)[0]!;
    const config = builtInConfig(definition, `${role}-agent`);
    expect(config.source).toBe('built-in');
    expect(config.configHash).toBe(
      configHash([
        { path: 'AGENT.md', content: config.instructions },
        { path: 'model', content: config.model },
      ]),
    );
    expect(builtInConfig(definition, `${role}-agent`, 'other-model').configHash).not.toBe(config.configHash);
  });
});
