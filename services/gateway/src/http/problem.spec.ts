import { describe, expect, it } from '@jest/globals';
import { AppError, ERROR_CODES, httpStatusFor } from '@orgmesh/contracts';
import { retryAfterSec, toProblem } from './problem.js';

describe('toProblem', () => {
  it('keeps the code and message and lifts details to members without overriding the standard ones', () => {
    const error = new AppError('session_illegal_transition', 'cannot complete a pending session', {
      details: { currentState: 'pending', allowedEvents: ['activate'], status: 999, code: 'x' },
    });
    expect(toProblem(error, '/v1/sessions/1/events')).toEqual({
      type: 'urn:orgmesh:problem:session_illegal_transition',
      title: 'Illegal session transition',
      status: 409,
      detail: 'cannot complete a pending session',
      code: 'session_illegal_transition',
      instance: '/v1/sessions/1/events',
      currentState: 'pending',
      allowedEvents: ['activate'],
    });
  });

  it('hides the message of anything that is not an AppError', () => {
    expect(toProblem(new Error('db password is hunter2'))).toMatchObject({
      status: 500,
      code: 'internal',
      detail: 'internal error',
    });
  });

  it('gives every code a title and its one HTTP status', () => {
    for (const code of ERROR_CODES) {
      const problem = toProblem(new AppError(code, 'x'));
      expect(problem.title.length).toBeGreaterThan(0);
      expect(problem.status).toBe(httpStatusFor(code));
    }
  });

  it('advises a retry delay for retryable errors only', () => {
    expect(retryAfterSec(new AppError('unavailable', 'x'))).toBe(1);
    expect(retryAfterSec(new AppError('rate_limited', 'x', { details: { retryAfterSec: 2.2 } }))).toBe(3);
    expect(retryAfterSec(new AppError('forbidden', 'x'))).toBeUndefined();
  });
});
