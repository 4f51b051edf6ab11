import { describe, expect, it } from '@jest/globals';
import { CallbackRefused, checkCallbackUrl, nonPublicKind, PushAllowList } from './push-url.js';

describe('push callback URL checks', () => {
  it('names the non-public range of an address, IPv4-mapped IPv6 included', () => {
    expect(nonPublicKind('127.0.0.1')).toBe('loopback');
    expect(nonPublicKind('10.20.30.40')).toBe('private');
    expect(nonPublicKind('172.31.255.255')).toBe('private');
    expect(nonPublicKind('172.32.0.1')).toBeUndefined();
    expect(nonPublicKind('169.254.169.254')).toBe('link-local');
    expect(nonPublicKind('100.64.0.1')).toBe('shared (CGNAT)');
    expect(nonPublicKind('::1')).toBe('loopback');
    expect(nonPublicKind('fd00::1')).toBe('private (unique local)');
    expect(nonPublicKind('fe80::1')).toBe('link-local');
    expect(nonPublicKind('::ffff:127.0.0.1')).toBe('loopback');
    expect(nonPublicKind('8.8.8.8')).toBeUndefined();
    expect(nonPublicKind('2001:4860:4860::8888')).toBeUndefined();
  });

  it('allows what the operator lists: exact addresses, ranges and host names', async () => {
    const allow = new PushAllowList(' 127.0.0.1 , 10.20.0.0/16, Hooks.Internal ');
    expect(allow.allows('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(allow.allows('127.0.0.2', '127.0.0.2')).toBe(false);
    expect(allow.allows('10.20.3.4', '10.20.3.4')).toBe(true);
    expect(allow.allows('10.21.3.4', '10.21.3.4')).toBe(false);
    expect(allow.allows('hooks.internal', '10.99.0.1')).toBe(true);
    await expect(checkCallbackUrl('http://127.0.0.1:8080/x', allow)).resolves.toBeInstanceOf(URL);
    await expect(checkCallbackUrl('http://127.0.0.2:8080/x', allow)).rejects.toBeInstanceOf(CallbackRefused);
    await expect(
      checkCallbackUrl('https://93.184.215.14/hook', new PushAllowList(undefined)),
    ).resolves.toBeInstanceOf(URL);
  });

  it('refuses names that resolve to loopback (localhost), other schemes and credentials in the URL', async () => {
    const none = new PushAllowList('');
    await expect(checkCallbackUrl('http://localhost:9/x', none)).rejects.toThrow(/loopback/);
    await expect(checkCallbackUrl('gopher://example.com/', none)).rejects.toThrow(/http or https/);
    await expect(checkCallbackUrl('https://u:p@93.184.215.14/', none)).rejects.toThrow(/credentials/);
    await expect(checkCallbackUrl('http://[::]:9/', none)).rejects.toThrow(/unspecified/);
  });
});
