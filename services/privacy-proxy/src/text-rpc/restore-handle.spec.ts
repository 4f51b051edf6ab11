import { describe, expect, it } from '@jest/globals';
import { PlaceholderMapping, Pseudonymizer, Restorer } from '@orgmesh/privacy';
import { RestoreHandles } from './restore-handle.js';

const KEY = 'restore-handle-spec-key-0123456789abcdef';
const owner = { tenant: 'acme', sub: 'outside-counsel-agent' };

function mapped(): { mapping: PlaceholderMapping; placeholder: string } {
  const mapping = new PlaceholderMapping();
  const placeholder = new Pseudonymizer(KEY).placeholder('acme', 'email', 'maria@example.org', mapping);
  return { mapping, placeholder };
}

describe('restore handles', () => {
  it('seal the mapping without its values in the clear; the owner opens it and restores', () => {
    const { mapping, placeholder } = mapped();
    const handles = new RestoreHandles(KEY);
    const handle = handles.seal(mapping, owner, 60_000);
    expect(handle).not.toContain('maria');
    expect(Buffer.from(handle.split('.')[2]!, 'base64url').toString('latin1')).not.toContain('maria');
    const restorer = new Restorer(handles.open(handle, owner));
    expect(restorer.restore(`Write to ${placeholder}.`)).toBe('Write to maria@example.org.');
    // Another replica with the same key opens it too.
    expect(new RestoreHandles(KEY).open(handle, owner).size).toBe(1);
  });

  it('refuses another caller, another tenant, another key, an altered or an expired handle', () => {
    const { mapping } = mapped();
    let now = 1_000;
    const handles = new RestoreHandles(KEY, () => now);
    const handle = handles.seal(mapping, owner, 60_000);
    expect(() => handles.open(handle, { ...owner, sub: 'legal-agent' })).toThrow(/not made for this caller/);
    expect(() => handles.open(handle, { ...owner, tenant: 'other' })).toThrow(/not made for this caller/);
    expect(() => new RestoreHandles(`${KEY}x`).open(handle, owner)).toThrow(/not made for this caller/);
    const [v, iv, body, tag] = handle.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => handles.open([v, iv, flipped.toString('base64url'), tag].join('.'), owner)).toThrow(
      /altered/,
    );
    expect(() => handles.open('not-a-handle', owner)).toThrow(/not a restore handle/);
    now += 60_001;
    expect(() => handles.open(handle, owner)).toThrow(/expired/);
  });
});
