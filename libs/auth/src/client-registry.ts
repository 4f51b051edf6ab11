import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** What a client of the built-in issuer is allowed to become. */
export interface ClientDefinition {
  clientId: string;
  /** The plain secret; only its scrypt hash is kept. */
  secret: string;
  /** The `sub` claim; defaults to the client id. */
  subject?: string;
  role: string;
  tenant?: string;
  scopes: readonly string[];
}

/** A registered client as kept in memory: no plain secret. */
export interface ClientRecord {
  clientId: string;
  subject: string;
  role: string;
  tenant: string;
  scopes: readonly string[];
  secretHash: string;
}

export interface SecretHashOptions {
  /** scrypt cost (N, a power of two); default 2^14. */
  cost?: number;
  blockSize?: number;
  parallelization?: number;
}

const KEY_LENGTH = 32;

function scryptAsync(
  secret: string,
  salt: Buffer,
  keyLength: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes a client secret: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`. */
export async function hashClientSecret(secret: string, options: SecretHashOptions = {}): Promise<string> {
  const N = options.cost ?? 16_384;
  const r = options.blockSize ?? 8;
  const p = options.parallelization ?? 1;
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return ['scrypt', N, r, p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Checks a secret against a stored hash in constant time (for equal-length hashes). */
export async function verifyClientSecret(secret: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltText, hashText] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (![N, R, P].every((v) => Number.isInteger(v) && v > 0)) return false;
  const expected = Buffer.from(hashText, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(saltText, 'base64url'), expected.length, {
    N,
    r: R,
    p: P,
    maxmem: 256 * N * R + 1024 * 1024,
  });
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * The built-in issuer's OAuth2 clients, with scrypt-hashed secrets. An unknown client id costs the
 * same hash as a known one, so response timing does not reveal which client ids exist.
 */
export class ClientRegistry {
  private constructor(
    private readonly clients: ReadonlyMap<string, ClientRecord>,
    private readonly decoyHash: string,
  ) {}

  static async create(
    definitions: readonly ClientDefinition[],
    options: SecretHashOptions = {},
  ): Promise<ClientRegistry> {
    const ids = new Set<string>();
    for (const definition of definitions) {
      if (ids.has(definition.clientId)) throw new Error(`client defined twice: ${definition.clientId}`);
      ids.add(definition.clientId);
    }
    const records = await Promise.all(
      definitions.map(async (d): Promise<ClientRecord> => ({
        clientId: d.clientId,
        subject: d.subject ?? d.clientId,
        role: d.role,
        tenant: d.tenant ?? 'default',
        scopes: [...d.scopes],
        secretHash: await hashClientSecret(d.secret, options),
      })),
    );
    const decoyHash = await hashClientSecret(randomBytes(16).toString('hex'), options);
    return new ClientRegistry(new Map(records.map((r) => [r.clientId, r])), decoyHash);
  }

  get size(): number {
    return this.clients.size;
  }

  /** Client ids, sorted (for printing at startup; never the secrets). */
  clientIds(): string[] {
    return [...this.clients.keys()].sort();
  }

  get(clientId: string): ClientRecord | undefined {
    return this.clients.get(clientId);
  }

  /** The client when the secret matches; undefined for an unknown client or a wrong secret. */
  async authenticate(clientId: string, secret: string): Promise<ClientRecord | undefined> {
    const record = this.clients.get(clientId);
    const ok = await verifyClientSecret(secret, record?.secretHash ?? this.decoyHash);
    return record && ok ? record : undefined;
  }
}
