#!/usr/bin/env node
// Removes from package-lock.json the optional binaries for other systems that `npm install` adds on
// this machine although the committed lockfile does not list them (@swc/core-darwin-*, unrs-resolver
// bindings, …): this registry mirror does not carry them, so a lockfile that lists them breaks the
// next install (docs/adr/0001-toolchain.md). Run after adding a dependency:
//   node scripts/lock-linux-only.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const committed = JSON.parse(execFileSync('git', ['show', 'HEAD:package-lock.json'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
const forOtherSystem = (entry) =>
  entry.optional === true &&
  ((Array.isArray(entry.os) && !entry.os.includes('linux')) ||
    (Array.isArray(entry.libc) && !entry.libc.includes('glibc')) ||
    (Array.isArray(entry.cpu) && !entry.cpu.includes('x64')));
let removed = 0;
for (const [key, entry] of Object.entries(lock.packages ?? {})) {
  if (!(key in committed.packages) && forOtherSystem(entry)) {
    delete lock.packages[key];
    removed++;
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-linux-only: removed ${removed} new entries for other systems`);
