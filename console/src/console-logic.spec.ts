import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { previewOrgCsv } from './orgPreview';
import { randomVerifier, s256Challenge } from './pkce';
import { ApiError, plainProblem, toProblem } from './problem';
import { SseParser } from './sse';
import { append, keepGone } from './pages/approvals-list';
import type { PersonApproval } from './types';

describe('console logic', () => {
  it('makes PKCE verifiers of the RFC 7636 alphabet and the S256 challenge the issuer checks', async () => {
    const verifier = randomVerifier();
    expect(verifier).toMatch(/^[A-Za-z0-9\-._~]{43}$/);
    expect(randomVerifier()).not.toBe(verifier);
    expect(await s256Challenge(verifier)).toBe(createHash('sha256').update(verifier).digest('base64url'));
  });

  it('puts a refusal in plain words, keeping the problem title and detail', () => {
    const refused = new ApiError(
      toProblem(409, {
        title: 'Approval already decided',
        code: 'approval_already_decided',
        detail: 'approved by u00002 at 10:00',
      }),
    );
    expect(plainProblem(refused)).toEqual({
      headline: 'This approval was already decided.',
      title: 'Approval already decided',
      detail: 'approved by u00002 at 10:00',
    });
    // An unknown code falls back to the server's own title.
    expect(
      plainProblem(new ApiError(toProblem(418, { title: 'Short and stout', code: 'teapot' }))).headline,
    ).toBe('Short and stout');
    expect(toProblem(502, '<html>bad gateway</html>')).toEqual({
      title: 'HTTP 502',
      status: 502,
      detail: '<html>bad gateway</html>',
    });
    expect(plainProblem(new TypeError('Failed to fetch')).headline).toBe('The gateway cannot be reached.');
  });

  it('parses server-sent events split across chunks, with ids, names, comments and multi-line data', () => {
    const parser = new SseParser();
    expect(parser.push(': heartbeat\n\nid: 7\nevent: mesh.v1.task-updated\nda')).toEqual([]);
    expect(parser.push('ta: {"a":1}\r\n\r\ndata: x\ndata: y\n\n')).toEqual([
      { id: '7', event: 'mesh.v1.task-updated', data: '{"a":1}' },
      { id: undefined, event: undefined, data: 'x\ny' },
    ]);
    // The gateway's first frame is an id without data: no event, but the resume point.
    expect(parser.push('retry: 2000\nid: mesh:12\n: subscribed\n\n')).toEqual([]);
    expect(parser.lastEventId).toBe('mesh:12');
  });

  it('previews an org chart CSV: counts, missing columns, duplicates and unknown managers', () => {
    const ok = previewOrgCsv(
      'user_id,reports_to_id,name,role,email,department\nu1,,A,manager,a@x,Exec\nu2,u1,B,finance,b@x,Finance\n',
    );
    expect(ok).toMatchObject({
      people: 2,
      missingColumns: [],
      problems: [],
      departments: [
        ['Exec', 1],
        ['Finance', 1],
      ],
    });
    const bad = previewOrgCsv('user_id,name,role,email\nu1,A,finance,a@x\nu1,B,finance,a@x\n');
    expect(bad.missingColumns).toEqual(['reports_to_id', 'department']);
    expect(bad.problems).toEqual(['line 3: user_id u1 appears twice', 'line 3: email a@x appears twice']);
    const orphan = previewOrgCsv('user_id,reports_to_id,name,role,email,department\nu2,u9,B,finance,b@x,F\n');
    expect(orphan.problems).toEqual(['line 2: reports_to_id u9 is not in the file']);
  });

  it('keeps the cards a live refresh drops where they were, marked gone, and appends a page without repeats', () => {
    const a = (id: string) => ({ task: { id } }) as unknown as PersonApproval;
    const merged = keepGone([a('1'), a('2'), a('3')], [a('1'), a('3'), a('4')]);
    expect(merged.map((x) => [x.task.id, x.gone ?? false])).toEqual([
      ['1', false],
      ['2', true],
      ['3', false],
      ['4', false],
    ]);
    const more = append(
      { items: [a('1'), a('2')], nextCursor: 'c1' },
      { items: [a('2'), a('5')], nextCursor: null },
    );
    expect(more.items.map((x) => x.task.id)).toEqual(['1', '2', '5']);
    expect(more.nextCursor).toBeNull();
  });
});
