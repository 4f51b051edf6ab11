import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '@orgmesh/contracts';

/**
 * Why a stream ticket was refused: `details.reason` of the 401 (`code: unauthenticated`), so a
 * browser client can tell "ask for a new ticket" (used, expired) from "this is not a ticket".
 */
export const STREAM_TICKET_REFUSALS = {
  invalid: 'stream_ticket_invalid',
  expired: 'stream_ticket_expired',
  used: 'stream_ticket_used',
} as const;

/** The `reason` of the 401 for `?access_token=`: long-lived tokens never travel in a URL. */
export const TOKEN_IN_URL = 'token_in_url';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Ciphertext associated data: a ticket of another purpose or format version never decrypts. */
const AAD = Buffer.from(`orgmesh-stream-ticket-${VERSION}`);

export interface StreamTicket {
  ticket: string;
  /** ISO 8601. */
  expiresAt: string;
}

export interface StreamTicketOptions {
  /** GATEWAY_STREAM_TICKET_KEY: 32 bytes as base64 (or base64url) or hex; unset: a random key of this process. */
  key: string | undefined;
  ttlMs: number;
  now?: () => number;
}

interface TicketContent {
  /** The caller's bearer token, verified again on redemption exactly as the header would be. */
  authorization: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Single-use id. */
  nonce: string;
}

/** Decodes GATEWAY_STREAM_TICKET_KEY; the error names the variable, never the value. */
export function parseTicketKey(value: string): Buffer {
  const trimmed = value.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES)
    throw new Error(
      `GATEWAY_STREAM_TICKET_KEY must be ${KEY_BYTES} bytes (64 hex digits or 44 base64 characters)`,
    );
  return key;
}

function refuse(
  reason: (typeof STREAM_TICKET_REFUSALS)[keyof typeof STREAM_TICKET_REFUSALS],
  message: string,
) {
  return new AppError('unauthenticated', message, { details: { reason } });
}

/**
 * Short-lived, single-use tickets that let a browser's `EventSource` (which cannot send an
 * Authorization header) open `GET /v1/events?ticket=…` as the caller who asked for the ticket.
 *
 * A ticket is the caller's bearer token, an expiry and a random nonce, sealed with AES-256-GCM
 * under the gateway's ticket key: opaque in the URL (proxy logs see no token and no identity),
 * tamper-proof, and redeemable on any replica that shares GATEWAY_STREAM_TICKET_KEY without a
 * shared store. Redemption verifies the sealed token again through the same identity check as the
 * header, so the stream gets the same caller, scopes and visibility rule, and a token that expired
 * in the meantime is refused. Single use is enforced per replica by a nonce cache that holds each
 * redeemed nonce until the ticket would have expired anyway (docs: services/gateway/README.md).
 */
export class StreamTickets {
  private readonly key: Buffer;
  private readonly now: () => number;
  /** Redeemed nonces → the ticket's expiry; insertion order is (nearly) expiry order. */
  private readonly redeemed = new Map<string, number>();

  constructor(private readonly options: StreamTicketOptions) {
    this.key = options.key === undefined ? randomBytes(KEY_BYTES) : parseTicketKey(options.key);
    this.now = options.now ?? Date.now;
  }

  /** A ticket for the caller whose verified `Authorization` value this is. */
  issue(authorization: string): StreamTicket {
    const expiresAt = this.now() + this.options.ttlMs;
    const content: TicketContent = { authorization, expiresAt, nonce: randomBytes(16).toString('base64url') };
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(AAD);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(content), 'utf8'), cipher.final()]);
    const ticket = `${VERSION}.${Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url')}`;
    return { ticket, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * The `Authorization` value sealed in the ticket, marking it used; `unauthenticated` with
   * `details.reason` (STREAM_TICKET_REFUSALS) if it is not a ticket of this key, expired or used.
   */
  redeem(ticket: string): string {
    const content = this.open(ticket);
    const now = this.now();
    this.forgetExpired(now);
    if (now >= content.expiresAt)
      throw refuse(STREAM_TICKET_REFUSALS.expired, 'the stream ticket has expired: ask for a new one');
    if (this.redeemed.has(content.nonce))
      throw refuse(STREAM_TICKET_REFUSALS.used, 'the stream ticket was used already: ask for a new one');
    this.redeemed.set(content.nonce, content.expiresAt);
    return content.authorization;
  }

  private open(ticket: string): TicketContent {
    const invalid = () => refuse(STREAM_TICKET_REFUSALS.invalid, 'not a stream ticket of this gateway');
    const [version, body, extra] = ticket.split('.');
    // 8 KB: a JWT of a few claims is well under it; nothing longer is decoded.
    if (version !== VERSION || !body || extra !== undefined || body.length > 8192) throw invalid();
    const bytes = Buffer.from(body, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) throw invalid();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(AAD);
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
      const content = JSON.parse(plain) as Partial<TicketContent>;
      if (
        typeof content.authorization !== 'string' ||
        typeof content.expiresAt !== 'number' ||
        typeof content.nonce !== 'string'
      )
        throw invalid();
      return content as TicketContent;
    } catch {
      // A wrong key, a forged or truncated ticket: the same answer, whatever failed.
      throw invalid();
    }
  }

  private forgetExpired(now: number): void {
    for (const [nonce, expiresAt] of this.redeemed) {
      if (expiresAt > now) break;
      this.redeemed.delete(nonce);
    }
  }
}
