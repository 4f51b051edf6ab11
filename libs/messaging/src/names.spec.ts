import { describe, expect, it } from '@jest/globals';
import {
  contextOfSubject,
  contextStreamName,
  conventionalDurable,
  deadLetterStreamName,
  deadLetterSubject,
  durableNameFor,
  prefixSubject,
  unprefixSubject,
  validateNamespace,
} from './names.js';

const ns = { subjectPrefix: 'tabc123.', nameSuffix: '_TABC123' };
const none = { subjectPrefix: '', nameSuffix: '' };

describe('namespace naming', () => {
  it('prefixes and unprefixes subjects', () => {
    expect(prefixSubject(ns, 'sessions.v1.created')).toBe('tabc123.sessions.v1.created');
    expect(unprefixSubject(ns, 'tabc123.sessions.v1.created')).toBe('sessions.v1.created');
    expect(unprefixSubject(ns, 'other.sessions.v1.created')).toBe('other.sessions.v1.created');
    expect(prefixSubject(none, 'rpc.sessions.v1.get')).toBe('rpc.sessions.v1.get');
  });

  it('names streams per context with the suffix', () => {
    expect(contextStreamName(ns, 'sessions')).toBe('SESSIONS_TABC123');
    expect(contextStreamName(none, 'mesh-router')).toBe('MESH_ROUTER');
  });

  it('sanitises durable names for NATS (no dots or wildcards)', () => {
    expect(durableNameFor(ns, 'mesh--sessions-v1-created')).toBe('mesh--sessions-v1-created_TABC123');
    expect(durableNameFor(none, 'a.b*c>d e')).toBe('a_b_c_d_e');
  });

  it('follows the durable convention <consumer>--<context>-v1-<event>', () => {
    expect(conventionalDurable('mesh-router', 'sessions.v1.transitioned')).toBe(
      'mesh-router--sessions-v1-transitioned',
    );
  });

  it('puts dead letters under <prefix>dlq.<original subject> in one stream per namespace', () => {
    expect(deadLetterSubject(ns, 'sessions.v1.created')).toBe('tabc123.dlq.sessions.v1.created');
    expect(deadLetterStreamName(ns)).toBe('DLQ_TABC123');
    expect(deadLetterSubject(none, 'registry.v1.agent-registered')).toBe('dlq.registry.v1.agent-registered');
  });

  it('finds the context of event and rpc subjects', () => {
    expect(contextOfSubject('sessions.v1.created')).toBe('sessions');
    expect(contextOfSubject('rpc.registry.v1.get-agent')).toBe('registry');
  });

  it('refuses prefixes and suffixes that would break subjects or names', () => {
    expect(() => validateNamespace({ subjectPrefix: 'no-dot', nameSuffix: '' })).toThrow(/subjectPrefix/);
    expect(() => validateNamespace({ subjectPrefix: 'a.*.', nameSuffix: '' })).toThrow(/subjectPrefix/);
    expect(() => validateNamespace({ subjectPrefix: '', nameSuffix: '.X' })).toThrow(/nameSuffix/);
    expect(() => validateNamespace(ns)).not.toThrow();
  });
});
