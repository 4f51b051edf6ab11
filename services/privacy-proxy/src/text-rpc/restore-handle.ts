import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AppError } from '@orgmesh/contracts';
import { PlaceholderMapping } from '@orgmesh/privacy';

/** Who a handle was sealed for: only the same caller of the same tenant opens it. */
export interface HandleOwner {
  readonly tenant: string;
  readonly sub: string;
}

const VERSION = 'h1';

/**
 * The restore mapping of a mask-text call, sealed into its answer instead of kept by the proxy: any
 * replica opens it, a restart loses nothing, and the proxy stores no personal data for it. AES-256-GCM
 * under a key derived (HKDF) from the placeholder key every replica shares; the owner is the
 * additional data, so a handle given to another agent does not open; the expiry is inside.
 */
export class RestoreHandles {
  private readonly key: Buffer;

  constructor(
    hmacKey: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(
      hkdfSync('sha256', Buffer.from(hmacKey, 'utf8'), 'orgmesh', 'privacy-proxy restore handle v1', 32),
    );
  }

  seal(mapping: PlaceholderMapping, owner: HandleOwner, ttlMs: number): string {
    const plain = JSON.stringify({ exp: this.now() + ttlMs, entries: [...mapping.entries()] });
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(ownerBytes(owner));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64url'),
      body.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  /** The mapping, or `forbidden` for a handle that is not this caller's, was altered, or expired. */
  open(handle: string, owner: HandleOwner): PlaceholderMapping {
    const [version, iv, body, tag] = handle.split('.');
    if (version !== VERSION || !iv || !body || !tag) throw refused('it is not a restore handle');
    let plain: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(ownerBytes(owner));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      plain = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw refused('it was not made for this caller, or was altered');
    }
    const sealed = JSON.parse(plain) as { exp: number; entries: Array<[string, string]> };
    if (this.now() > sealed.exp) throw refused('it expired');
    const mapping = new PlaceholderMapping();
    for (const [key, value] of sealed.entries) {
      // The key is `LABEL_digits`; the value itself stands in for its normal form (only collisions use it).
      mapping.claim(key, key.slice(0, key.lastIndexOf('_')), value, value);
    }
    return mapping;
  }
}

function ownerBytes(owner: HandleOwner): Buffer {
  return Buffer.from(`${owner.tenant}\u0000${owner.sub}`, 'utf8');
}

function refused(why: string): AppError {
  return new AppError('forbidden', `the restore handle does not open: ${why}`);
}
