import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { databaseEnv, parseConfig } from './config.js';
import {
  DATABASE_URL_FILE,
  DEFAULT_DATABASE_URL,
  databaseUrlWithoutEnv,
  redactDatabaseUrl,
  resolveDatabaseUrl,
} from './database-url.js';

describe('the database URL rule', () => {
  let root: string;
  const written = 'postgres://postgres:postgres@127.0.0.1:5499/orgmesh';
  const writeStartFile = (content: string) => {
    mkdirSync(join(root, '.orgmesh'), { recursive: true });
    writeFileSync(join(root, DATABASE_URL_FILE), content);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'orgmesh-dburl-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('takes DATABASE_URL first, even when npm start wrote its file', () => {
    writeStartFile(`${written}\n`);
    expect(resolveDatabaseUrl({ DATABASE_URL: ' postgres://db.example/orgmesh ' }, root)).toEqual({
      url: 'postgres://db.example/orgmesh',
      source: 'DATABASE_URL',
    });
  });

  it('takes the URL npm start wrote when DATABASE_URL is unset or blank', () => {
    writeStartFile(`${written}\n`);
    expect(resolveDatabaseUrl({}, root)).toEqual({ url: written, source: '.orgmesh/database-url' });
    expect(resolveDatabaseUrl({ DATABASE_URL: '  ' }, root)).toEqual({ url: written, source: '.orgmesh/database-url' });
  });

  it('falls back to the documented 5432 default without the file, or with an empty one', () => {
    expect(resolveDatabaseUrl({}, root)).toEqual({ url: DEFAULT_DATABASE_URL, source: 'default' });
    expect(DEFAULT_DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/orgmesh');
    writeStartFile('\n');
    expect(databaseUrlWithoutEnv(root)).toEqual({ url: DEFAULT_DATABASE_URL, source: 'default' });
  });

  it('does not take an unreadable file for an absent one', () => {
    // A directory where the file should be: EISDIR is a real problem, not "npm start is not running".
    mkdirSync(join(root, DATABASE_URL_FILE), { recursive: true });
    expect(() => databaseUrlWithoutEnv(root)).toThrow(/EISDIR/);
  });

  it('is the default of every schema that spreads databaseEnv (this checkout)', () => {
    const schema = z.object(databaseEnv);
    expect(parseConfig('svc', schema, {}).DATABASE_URL).toBe(databaseUrlWithoutEnv().url);
    expect(parseConfig('svc', schema, { DATABASE_URL: 'postgresql://x/y' }).DATABASE_URL).toBe('postgresql://x/y');
  });

  it('redacts the password only', () => {
    expect(redactDatabaseUrl(written)).toBe('postgres://postgres:***@127.0.0.1:5499/orgmesh');
    expect(redactDatabaseUrl(DEFAULT_DATABASE_URL)).toBe(DEFAULT_DATABASE_URL);
    expect(redactDatabaseUrl('postgresql://u:p%40ss@h:1/d?sslmode=require')).toBe('postgresql://u:***@h:1/d?sslmode=require');
  });
});
