import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { formatCursor, parseCursor, planSubjects } from './subscription.js';

describe('planSubjects', () => {
  it('defaults to every context', () => {
    expect([...planSubjects(undefined)]).toEqual([
      ['sessions', ['sessions.>']],
      ['mesh', ['mesh.>']],
      ['registry', ['registry.>']],
    ]);
  });

  it('groups patterns by context and expands leading wildcards', () => {
    expect([...planSubjects('sessions.v1.*, mesh.v1.task-updated,sessions.v1.created')]).toEqual([
      ['sessions', ['sessions.v1.*', 'sessions.v1.created']],
      ['mesh', ['mesh.v1.task-updated']],
    ]);
    expect([...planSubjects('*.v1.*')].map(([c, p]) => [c, p])).toEqual([
      ['sessions', ['sessions.v1.*']],
      ['mesh', ['mesh.v1.*']],
      ['registry', ['registry.v1.*']],
    ]);
    expect(planSubjects('>').size).toBe(3);
  });

  it.each([
    'privacy.v1.redacted',
    'sessions',
    'sessions.>.x',
    'Sessions.v1.*',
    'sessions..x',
    '*',
    'registry.v1.drift-*',
  ])('refuses %s naming query.subject', (filter) => {
    expect(() => planSubjects(filter)).toThrow(
      expect.objectContaining({
        code: 'validation_failed',
        details: { issues: [expect.objectContaining({ path: 'query.subject' })] },
      }),
    );
  });
});

describe('cursors', () => {
  it('are the plain sequence for one context and context:seq pairs for several', () => {
    expect(formatCursor(['sessions'], new Map([['sessions', 42]]))).toBe('42');
    expect(
      formatCursor(
        ['sessions', 'mesh', 'registry'],
        new Map([
          ['sessions', 42],
          ['mesh', 7],
        ]),
      ),
    ).toBe('sessions:42,mesh:7,registry:0');
  });

  it('round-trip', () => {
    const contexts = ['sessions', 'mesh'] as const;
    const positions = parseCursor(contexts, 'sessions:42,mesh:7');
    expect(formatCursor(contexts, positions)).toBe('sessions:42,mesh:7');
    expect([...parseCursor(['mesh'], '9')]).toEqual([['mesh', 9]]);
    expect(parseCursor(contexts, undefined).size).toBe(0);
  });

  it('ignore contexts outside the subscription and refuse ambiguous or malformed ids', () => {
    expect([...parseCursor(['sessions'], 'sessions:3,mesh:9')]).toEqual([['sessions', 3]]);
    expect(() => parseCursor(['sessions', 'mesh'], '42')).toThrow(/ambiguous/);
    expect(() => parseCursor(['sessions'], 'yesterday')).toThrow(/Last-Event-ID/);
  });

  it.each([
    ['mesh:99999999999999999999', ['mesh']],
    ['99999999999999999999', ['mesh']],
    ['9007199254740992', ['sessions']],
    ['sessions:1e3', ['sessions']],
    ['sessions:-1', ['sessions']],
    ['sessions:1,mesh:2,registry:3,sessions:4', ['sessions']],
    ['sessions:2,sessions:0', ['sessions', 'mesh']],
    ['sessions:\u0000', ['sessions']],
  ] as const)(
    'refuse %j as invalid_cursor (400), never as a number that lost precision',
    (cursor, contexts) => {
      let thrown: unknown;
      try {
        parseCursor(contexts, cursor, 'query.lastEventId');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect((thrown as AppError).code).toBe('invalid_cursor');
      expect((thrown as AppError).details).toEqual({
        issues: [{ path: 'query.lastEventId', message: expect.any(String) }],
      });
    },
  );

  it('name the gRPC field when the cursor came from WatchEvents', () => {
    expect(() => parseCursor(['mesh'], 'x', 'cursor')).toThrow(/^invalid cursor: /);
  });

  it('accept the largest exact sequence', () => {
    expect([...parseCursor(['mesh'], 'mesh:9007199254740991')]).toEqual([['mesh', Number.MAX_SAFE_INTEGER]]);
  });
});
