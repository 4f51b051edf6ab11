// Compiles every workspace's src/ to dist/ with swc (legacy decorators + metadata, as Nest needs).
// Typechecking is separate (npm run typecheck, tsgo); this only transpiles, so it takes well under a second per package.
import { transformFile } from '@swc/core';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile, stat, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findPackageJSON } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const swcrc = JSON.parse(await readFile(join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'test') continue;
      yield* walk(full);
    }
    else yield full;
  }
}

async function exists(path) {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// Several test files build at once (each jest worker that spawns a dist/ entry point) while other
// processes already run that dist/. A plain writeFile truncates then writes, so a concurrent import
// could read a half-written module ("does not provide an export named …", seen in CI). Unchanged
// files are therefore left alone and changed ones replaced atomically (write aside, then rename).
async function writeIfChanged(path, content) {
  const next = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const current = await readFile(path).catch(() => undefined);
  if (current && current.equals(next)) return;
  const aside = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(aside, next);
  await rename(aside, path);
}

async function copyIfChanged(from, to) {
  if ((await stat(from)).isDirectory()) {
    await mkdir(to, { recursive: true });
    for (const entry of await readdir(from)) await copyIfChanged(join(from, entry), join(to, entry));
  } else await writeIfChanged(to, await readFile(from));
}

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const dirs = [];
for (const pattern of pkg.workspaces) {
  if (pattern.endsWith('/*')) {
    const base = join(root, pattern.slice(0, -2));
    if (!(await exists(base))) continue;
    for (const entry of await readdir(base, { withFileTypes: true })) if (entry.isDirectory()) dirs.push(join(base, entry.name));
  } else dirs.push(join(root, pattern));
}

// `node scripts/build.mjs libs/testing` builds only the named workspaces.
const only = process.argv.slice(2).map((arg) => join(root, arg));
if (only.length) dirs.splice(0, dirs.length, ...dirs.filter((dir) => only.includes(dir)));

let files = 0;
const started = Date.now();
const bundled = [];
for (const dir of dirs) {
  const meta = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8').catch(() => '{}'));
  // A browser app (`orgmesh.bundler: "vite"`, the console, ADR 0020) is bundled by vite, not swc.
  if (meta.orgmesh?.bundler === 'vite') {
    bundled.push(dir);
    continue;
  }
  const src = join(dir, meta.orgmesh?.sourceRoot ?? 'src');
  if (!(await exists(src))) continue;
  const jobs = [];
  for await (const file of walk(src)) {
    const rel = relative(src, file);
    const out = join(dir, 'dist', rel);
    if (file.endsWith('.ts') && !file.endsWith('.d.ts')) {
      if (/\.(spec|integration-spec|e2e-spec)\.ts$/.test(file)) continue;
      jobs.push(
        (async () => {
          const result = await transformFile(file, { ...swcrc, filename: file, sourceFileName: relative(dirname(out), file), swcrc: false });
          const js = out.replace(/\.ts$/, '.js');
          await mkdir(dirname(js), { recursive: true });
          await writeIfChanged(js, result.code + `\n//# sourceMappingURL=${js.split('/').pop()}.map\n`);
          if (result.map) await writeIfChanged(`${js}.map`, result.map);
          files++;
        })(),
      );
    } else if (!file.endsWith('.ts') && !file.endsWith('package.json')) {
      // Non-code assets next to the code (protos, templates, YAML) ship with it.
      jobs.push(mkdir(dirname(out), { recursive: true }).then(async () => writeIfChanged(out, await readFile(file))));
    }
  }
  // Files of a dependency that ship with the build (`orgmesh.assets` in the workspace's package.json:
  // destination inside the workspace → `<package>/<path>`), e.g. the gateway's /docs renderer, a dev
  // dependency the production image does not install.
  for (const [to, from] of Object.entries(meta.orgmesh?.assets ?? {})) {
    const parts = from.split('/');
    const name = parts.slice(0, from.startsWith('@') ? 2 : 1).join('/');
    const manifest = findPackageJSON(name, pathToFileURL(join(dir, 'package.json')));
    if (!manifest) throw new Error(`build: ${name} (an asset of ${relative(root, dir)}) is not installed`);
    const source = join(dirname(manifest), ...parts.slice(name.split('/').length));
    jobs.push(mkdir(dirname(join(dir, to)), { recursive: true }).then(() => copyIfChanged(source, join(dir, to))));
  }
  await Promise.all(jobs);
}

// The versions of what turns a browser app's sources into its bundle: a change rebuilds it.
const BUNDLER_PACKAGES = ['vite', '@vitejs/plugin-react', 'react', 'react-dom'];

/**
 * Builds a vite workspace into its dist/. Skipped in a few ms when nothing changed: the hash of its
 * sources (everything but dist/ and node_modules/) and of the bundler packages' versions is kept in
 * dist/.build-stamp. Vite writes into a directory aside; its files then enter dist/ through
 * writeIfChanged (so a gateway serving dist/ never reads a half-written file), index.html last, and
 * hashed assets the new index.html no longer names are removed after it.
 */
async function bundleWithVite(dir) {
  // The recipe's own version: a change to how bundles are made (below) rebuilds them too.
  const hash = createHash('sha256').update('vite-bundle-recipe 2 (production)\0');
  const inputs = [];
  async function collect(current) {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.vite-build-')) continue;
      const full = join(current, entry.name);
      if (entry.isDirectory()) await collect(full);
      else inputs.push(full);
    }
  }
  await collect(dir);
  for (const file of inputs.sort()) hash.update(relative(dir, file)).update('\0').update(await readFile(file)).update('\0');
  for (const name of BUNDLER_PACKAGES) {
    const manifest = findPackageJSON(name, pathToFileURL(join(dir, 'package.json')));
    hash.update(`${name}@${manifest ? JSON.parse(await readFile(manifest, 'utf8')).version : 'missing'}\0`);
  }
  const stamp = hash.digest('hex');
  const dist = join(dir, 'dist');
  const stampFile = join(dist, '.build-stamp');
  if ((await readFile(stampFile, 'utf8').catch(() => '')) === stamp && (await exists(join(dist, 'index.html')))) return false;

  const aside = join(dir, `.vite-build-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const { build } = await import('vite');
    // A production bundle whatever NODE_ENV the caller has (jest runs this script with NODE_ENV=test,
    // and vite would then bundle React's development build, twice the size).
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ root: dir, configFile: join(dir, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir: aside, emptyOutDir: true } });
    } finally {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
    }
    const built = [];
    async function list(current) {
      for (const entry of await readdir(current, { withFileTypes: true })) {
        const full = join(current, entry.name);
        if (entry.isDirectory()) await list(full);
        else built.push(relative(aside, full));
      }
    }
    await list(aside);
    const ordered = [...built.filter((f) => f !== 'index.html'), ...built.filter((f) => f === 'index.html')];
    for (const file of ordered) {
      await mkdir(dirname(join(dist, file)), { recursive: true });
      await writeIfChanged(join(dist, file), await readFile(join(aside, file)));
    }
    const keep = new Set(built);
    async function prune(current) {
      for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
        const full = join(current, entry.name);
        if (entry.isDirectory()) await prune(full);
        else if (!keep.has(relative(dist, full)) && entry.name !== '.build-stamp') await rm(full, { force: true });
      }
    }
    await prune(dist);
    await writeIfChanged(stampFile, stamp);
    return true;
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
}

for (const dir of bundled) {
  const bundleStarted = Date.now();
  if (await bundleWithVite(dir)) process.stderr.write(`build: ${relative(root, dir)} bundled by vite in ${Date.now() - bundleStarted} ms\n`);
}
process.stderr.write(`build: ${files} files in ${Date.now() - started} ms\n`);
