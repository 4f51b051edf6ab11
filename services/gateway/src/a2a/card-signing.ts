import type { KeyObject } from 'node:crypto';
import { generateAgentCardSignature, type AgentCard } from '@a2a-js/sdk';
import type { JWK } from 'jose';
import { es256SigningKey } from '@orgmesh/auth';

const KEY_PROBLEM =
  'GATEWAY_A2A_SIGNING_KEY: expected a private EC P-256 key as a JWK (JSON) or a PEM (PKCS#8 or SEC1)';

/** The card's JSON (the v1.0 ProtoJSON form served at the well-known path), as signing and serving handle it. */
export type AgentCardJson = Record<string, unknown>;

/**
 * Signs Agent Cards as the A2A spec's AgentCardSignature describes: a JWS (flattened, detached into
 * `signatures[]`) over the RFC 8785 canonical card without its signatures, by the SDK's own
 * `generateAgentCardSignature`, so any A2A client's `verifyAgentCardSignature` accepts it. ES256, with
 * `kid`, `typ: JOSE` and `jku` (where the public keys are) in the protected header.
 *
 * The key takes the same forms as the registry's REGISTRY_SIGNING_KEY (a private P-256 JWK or PEM), so
 * an operator can give the gateway the registry's key and the org signs profiles and cards with one
 * key. Unset, each process draws its own (dev): with several replicas set it, since a card signed by
 * one replica is verified against the JWKS a client may fetch from another.
 */
export class CardSigner {
  private constructor(
    private readonly privateKey: KeyObject,
    readonly kid: string,
    readonly publicJwk: JWK & { kid: string },
    readonly jwksUrl: string,
    readonly origin: 'configured' | 'generated',
  ) {}

  static async create(secret: string | undefined, jwksUrl: string): Promise<CardSigner> {
    // The registry's key loader (same forms, same kid derivation): one key, one kid in both JWKS.
    const key = await es256SigningKey(secret, KEY_PROBLEM);
    return new CardSigner(key.privateKey, key.kid, key.publicJwk, jwksUrl, key.origin);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** The card with its signature appended (the SDK canonicalizes the ProtoJSON form, without `signatures`). */
  async sign(card: AgentCardJson): Promise<AgentCardJson> {
    const signer = generateAgentCardSignature(this.privateKey, {
      alg: 'ES256',
      kid: this.kid,
      typ: 'JOSE',
      jku: this.jwksUrl,
    });
    const signed = await signer(card as unknown as AgentCard);
    return {
      ...card,
      signatures: signed.signatures.map(({ protected: p, signature }) => ({ protected: p, signature })),
    };
  }
}
