import { describe, expect, it } from '@jest/globals';
import { Router } from './router.js';

describe('Router', () => {
  const router = new Router<string>();
  router.add('GET', '/v1/profiles/{id}', 'profile');
  router.add('GET', '/v1/profiles', 'profiles');
  router.add('PUT', '/v1/sessions/{id}/events', 'events');
  router.add('GET', '/v1/sessions/{id}', 'session');
  router.add('GET', '/v1/sessions/mine', 'mine');

  it('matches templates and decodes parameters', () => {
    expect(router.match('PUT', '/v1/sessions/a%2Fb/events')).toEqual({
      found: true,
      value: 'events',
      template: '/v1/sessions/{id}/events',
      params: { id: 'a/b' },
    });
    expect(router.match('GET', '/v1/profiles')).toMatchObject({ found: true, value: 'profiles' });
    expect(router.match('GET', '/v1/profiles/')).toMatchObject({ found: true, value: 'profiles' });
  });

  it('prefers literal segments over parameters', () => {
    expect(router.match('GET', '/v1/sessions/mine')).toMatchObject({ value: 'mine' });
    expect(router.match('GET', '/v1/sessions/other')).toMatchObject({
      value: 'session',
      params: { id: 'other' },
    });
  });

  it('reports the allowed methods of a path matched under another method', () => {
    expect(router.match('DELETE', '/v1/sessions/x/events')).toEqual({ found: false, allowed: ['PUT'] });
    expect(router.match('GET', '/v1/nowhere')).toEqual({ found: false, allowed: [] });
  });

  it('answers HEAD with GET routes, and never matches across segments', () => {
    expect(router.match('HEAD', '/v1/profiles/x')).toMatchObject({ found: true, value: 'profile' });
    expect(router.match('GET', '/v1/profiles/x/y')).toMatchObject({ found: false });
  });

  it('skips malformed percent-encoding instead of throwing', () => {
    expect(router.match('GET', '/v1/profiles/%E0%A4%A')).toMatchObject({ found: false });
  });

  it('refuses a route defined twice', () => {
    expect(() => router.add('GET', '/v1/profiles', 'again')).toThrow(/defined twice/);
  });
});
