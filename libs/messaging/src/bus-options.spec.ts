import { describe, expect, it } from '@jest/globals';
import { natsTlsOptions } from './bus-options.js';

describe('natsTlsOptions', () => {
  it('requires TLS for a tls:// URL, even though nats.js ignores the scheme', () => {
    expect(natsTlsOptions('tls://nats.nats.svc:4222')).toEqual({});
    expect(natsTlsOptions('nats://a:4222, TLS://b:4222')).toEqual({});
  });

  it('trusts only the given CA, whatever the scheme', () => {
    expect(natsTlsOptions('tls://nats:4222', '/run/ca.crt')).toEqual({ caFile: '/run/ca.crt' });
    expect(natsTlsOptions('nats://nats:4222', '/run/ca.crt')).toEqual({ caFile: '/run/ca.crt' });
  });

  it('leaves a plain nats:// connection without TLS options (an open development server)', () => {
    expect(natsTlsOptions('nats://127.0.0.1:4222')).toBeUndefined();
    expect(natsTlsOptions('nats://127.0.0.1:4222', '')).toBeUndefined();
  });
});
