import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { HmacSha256 } from './hmac-sha256.js';

const reference = (key: Uint8Array, message: string, encoding: 'hex' | 'base64') =>
  createHmac('sha256', key).update(message, 'utf8').digest(encoding);

const MESSAGES = [
  '',
  'a',
  'acme\u0000email\u0000jane.doe@acme.example',
  'Grüße aus Köln — 東京 — 🙂 surrogate pairs',
  'a lone surrogate \ud800 and another \udfff', // written as U+FFFD by both
  'x'.repeat(55),
  'x'.repeat(64),
  'é'.repeat(300), // longer than the first scratch buffer, in bytes twice its characters
  'Quarterly close checklist. '.repeat(400), // ~10 KB: the scratch buffer grows
  'short again after a long one',
];

describe('HmacSha256', () => {
  it.each([1, 16, 32, 63, 64, 65, 200])(
    'equals createHmac for a %i-byte key, every message length class, both encodings',
    (keyLength) => {
      const key = randomBytes(keyLength);
      const hmac = new HmacSha256(key);
      for (const message of MESSAGES) {
        expect(hmac.digest(message, 'hex')).toBe(reference(key, message, 'hex'));
        expect(hmac.digest(message, 'base64')).toBe(reference(key, message, 'base64'));
      }
    },
  );

  it('gives the same digest for a message before and after longer and shorter ones', () => {
    const key = randomBytes(32);
    const hmac = new HmacSha256(key);
    const first = hmac.digest('jane.doe@acme.example', 'hex');
    hmac.digest('y'.repeat(5000), 'hex');
    hmac.digest('', 'hex');
    expect(hmac.digest('jane.doe@acme.example', 'hex')).toBe(first);
    expect(first).toBe(reference(key, 'jane.doe@acme.example', 'hex'));
  });

  it('keeps nothing of a message after the call (the messages are personal values)', () => {
    const hmac = new HmacSha256(randomBytes(32));
    const message = 'acme\u0000email\u0000jane.doe@acme.example';
    hmac.digest(message, 'hex');
    const scratch = (hmac as unknown as { scratch: Buffer }).scratch;
    expect(scratch.includes(Buffer.from('jane.doe'))).toBe(false);
    expect(scratch.subarray(64).every((byte) => byte === 0)).toBe(true);
  });

  it('keeps its own copy of the key', () => {
    const key = randomBytes(32);
    const expected = reference(key, 'value', 'hex');
    const hmac = new HmacSha256(key);
    key.fill(0);
    expect(hmac.digest('value', 'hex')).toBe(expected);
  });
});
