import { describe, expect, it } from '@jest/globals';
import { sqlOperation } from './database.js';

describe('sqlOperation', () => {
  it('is the first keyword, upper-cased, after whitespace and comments', () => {
    expect(sqlOperation('select 1')).toBe('SELECT');
    expect(sqlOperation('\n   INSERT INTO t VALUES ($1)')).toBe('INSERT');
    expect(sqlOperation('-- why\n/* multi\nline */ WITH u AS (UPDATE t SET a = 1) SELECT 1')).toBe('WITH');
    expect(sqlOperation('BEGIN; SET LOCAL x = 1; SELECT 2')).toBe('BEGIN');
  });

  it('never returns anything but letters: a statement that does not start with a keyword is OTHER', () => {
    expect(sqlOperation("'alice@example.com'")).toBe('OTHER');
    expect(sqlOperation('')).toBe('OTHER');
    expect(sqlOperation('(SELECT 1)')).toBe('OTHER');
  });
});
