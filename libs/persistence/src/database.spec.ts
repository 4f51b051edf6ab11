import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { pgErrorCode, sqlOperation } from './database.js';

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

describe('pgErrorCode', () => {
  const pg = (code: string) => Object.assign(new Error('duplicate key value'), { code });

  it('is the SQLSTATE on the error, on its TypeORM driverError, or on a cause it was wrapped in', () => {
    expect(pgErrorCode(pg('23505'))).toBe('23505');
    expect(pgErrorCode({ driverError: pg('40P01') })).toBe('40P01');
    expect(pgErrorCode(new AppError('conflict', 'x', { cause: { driverError: pg('40001') } }))).toBe('40001');
  });

  it('takes neither an AppError code nor a Node errno for a SQLSTATE', () => {
    expect(pgErrorCode(new AppError('conflict', 'x'))).toBeUndefined();
    expect(pgErrorCode(Object.assign(new Error('socket'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(pgErrorCode(new AppError('unavailable', 'x', { cause: pg('ECONNREFUSED') }))).toBeUndefined();
    expect(pgErrorCode(undefined)).toBeUndefined();
    expect(pgErrorCode('23505')).toBeUndefined();
  });
});
