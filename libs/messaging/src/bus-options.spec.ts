import { describe, expect, it } from '@jest/globals';
import { busOptionsFromConfig, natsTlsOptions } from './bus-options.js';

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

describe('busOptionsFromConfig', () => {
  it('maps every bus key of a process config, and leaves out the unset ones', () => {
    expect(
      busOptionsFromConfig({
        NATS_URL: 'nats://a:4222,nats://b:4222',
        NATS_NKEY_SEED_FILE: '/run/secrets/seed',
        NATS_TLS_CA_FILE: '/run/secrets/ca.crt',
        NATS_SUBJECT_PREFIX: 'test.',
        NATS_NAME_SUFFIX: '_t1',
        NATS_STREAM_REPLICAS: 3,
      }),
    ).toEqual({
      url: 'nats://a:4222,nats://b:4222',
      nkeySeedFile: '/run/secrets/seed',
      tlsCaFile: '/run/secrets/ca.crt',
      subjectPrefix: 'test.',
      nameSuffix: '_t1',
      streamReplicas: 3,
    });
    expect(
      busOptionsFromConfig({ NATS_URL: 'nats://a:4222', NATS_SUBJECT_PREFIX: '', NATS_NAME_SUFFIX: '' }),
    ).toEqual({ url: 'nats://a:4222' });
  });
});
