import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  ConfigError,
  databaseEnv,
  env,
  httpListenEnv,
  migrateEnv,
  natsEnv,
  parseConfig,
  parseDuration,
  storeServiceEnv,
  telemetryEnv,
} from './config.js';
import { databaseUrlWithoutEnv } from './database-url.js';

const schema = z.object({
  NATS_URL: env.natsUrl(),
  PORT: env.port(8080),
  API_SECRET: z.string().min(32),
  IDLE: env.duration('30m'),
  VERBOSE: env.bool(false),
});

describe('parseConfig', () => {
  it('applies defaults and coercions', () => {
    const config = parseConfig('svc', schema, { API_SECRET: 'x'.repeat(32), IDLE: '15s', VERBOSE: 'yes' });
    expect(config).toEqual({
      NATS_URL: 'nats://127.0.0.1:4222',
      PORT: 8080,
      API_SECRET: 'x'.repeat(32),
      IDLE: 15_000,
      VERBOSE: true,
    });
  });

  it('names bad keys and never echoes their values', () => {
    const secret = 'tooshort-secret-value';
    let caught: unknown;
    try {
      parseConfig('svc', schema, { API_SECRET: secret, PORT: '99999', IDLE: 'soon' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    expect(message).toContain('API_SECRET');
    expect(message).toContain('PORT');
    expect(message).toContain('IDLE');
    expect(message).not.toContain(secret);
    expect(message).not.toContain('99999');
    expect(message).not.toContain('soon');
  });

  it('reports a missing required key as required', () => {
    expect(() => parseConfig('svc', schema, {})).toThrow(/API_SECRET \(required\)/);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    // A bare number would be read as milliseconds by the code and as seconds by most people: refused.
    expect(parseDuration('250')).toBeUndefined();
    expect(parseDuration('1800')).toBeUndefined();
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('forever')).toBeUndefined();
  });
});

describe('shared key fragments', () => {
  const common = z.object({ ...natsEnv, ...telemetryEnv, ...databaseEnv });

  it('give every process the same bus, telemetry and Postgres keys with the same defaults', () => {
    expect(parseConfig('svc', common, {})).toEqual({
      NATS_URL: 'nats://127.0.0.1:4222',
      NATS_NKEY_SEED_FILE: undefined,
      NATS_TLS_CA_FILE: undefined,
      NATS_SUBJECT_PREFIX: '',
      NATS_NAME_SUFFIX: '',
      NATS_STREAM_REPLICAS: 1,
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_SERVICE_NAME: undefined,
      // The 5432 default, or the URL a running `npm start` wrote (database-url.spec.ts tests the rule).
      DATABASE_URL: databaseUrlWithoutEnv().url,
      DATABASE_POOL_SIZE: 10,
    });
  });

  it('name the bad keys, never their values', () => {
    const error = (() => {
      try {
        parseConfig('svc', common, {
          NATS_URL: 'http://bus',
          NATS_NAME_SUFFIX: 'a.b',
          DATABASE_POOL_SIZE: '0',
        });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.problems.map((p) => p.key).sort()).toEqual([
      'DATABASE_POOL_SIZE',
      'NATS_NAME_SUFFIX',
      'NATS_URL',
    ]);
    expect(error.message).not.toContain('http://bus');
  });

  it('take 1 to 5 stream replicas and refuse anything else by name', () => {
    expect(parseConfig('svc', common, { NATS_STREAM_REPLICAS: '3' }).NATS_STREAM_REPLICAS).toBe(3);
    for (const bad of ['0', '6', '2.5', 'three']) {
      expect(() => parseConfig('svc', common, { NATS_STREAM_REPLICAS: bad })).toThrow(/NATS_STREAM_REPLICAS/);
    }
  });
});

describe('migrateEnv', () => {
  const schema = z.object({ ...migrateEnv });

  it('is off unless MIGRATE_ON_START says true, 1 or yes', () => {
    expect(parseConfig('svc', schema, {})).toEqual({ MIGRATE_ON_START: false });
    expect(parseConfig('svc', schema, { MIGRATE_ON_START: 'false' })).toEqual({ MIGRATE_ON_START: false });
    for (const on of ['true', '1', 'yes'])
      expect(parseConfig('svc', schema, { MIGRATE_ON_START: on })).toEqual({ MIGRATE_ON_START: true });
  });

  it('refuses any other value, naming the key and not the value (a typo must not skip migrations silently)', () => {
    expect(() => parseConfig('svc', schema, { MIGRATE_ON_START: 'ture' })).toThrow(ConfigError);
    expect(() => parseConfig('svc', schema, { MIGRATE_ON_START: 'ture' })).toThrow(/MIGRATE_ON_START/);
    expect(() => parseConfig('svc', schema, { MIGRATE_ON_START: 'ture' })).not.toThrow(/ture/);
  });
});

describe('storeServiceEnv', () => {
  it('is the bus, Postgres, migrate and telemetry fragments together', () => {
    expect(Object.keys(storeServiceEnv).sort()).toEqual(
      Object.keys({ ...natsEnv, ...databaseEnv, ...migrateEnv, ...telemetryEnv }).sort(),
    );
  });
});

describe('httpListenEnv', () => {
  const schema = z.object({ ...httpListenEnv('SVC', 8101) });

  it("names the prefix's port and host, loopback and the given port unless set", () => {
    expect(parseConfig('svc', schema, {})).toEqual({ SVC_HTTP_PORT: 8101, SVC_HTTP_HOST: '127.0.0.1' });
    expect(parseConfig('svc', schema, { SVC_HTTP_PORT: '0', SVC_HTTP_HOST: '0.0.0.0' })).toEqual({
      SVC_HTTP_PORT: 0,
      SVC_HTTP_HOST: '0.0.0.0',
    });
  });

  it('refuses a port out of range and an empty host, naming the keys', () => {
    expect(() => parseConfig('svc', schema, { SVC_HTTP_PORT: '70000', SVC_HTTP_HOST: '' })).toThrow(
      /SVC_HTTP_HOST.*SVC_HTTP_PORT|SVC_HTTP_PORT.*SVC_HTTP_HOST/,
    );
  });
});
