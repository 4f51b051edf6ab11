import { canonicalizeAgentCard, type AgentCard } from '@a2a-js/sdk';
import { base64url, decodeProtectedHeader, flattenedVerify, importJWK, type JWK } from 'jose';

/** The JSON of an A2A Agent Card as served (the v1.0 ProtoJSON form), before the SDK normalises it. */
export type AgentCardJson = Record<string, unknown>;

export interface FetchAgentCardOptions {
  /** Longest wait for the card and for each key set; default 5 s. */
  timeoutMs?: number;
  /**
   * A pinned JWKS URL: signatures are verified against it only, whatever `jku` they name. Without
   * one, a signature's `jku` is followed only when it is on the card's own origin (a card served by
   * a host cannot then name keys of another host that the attacker controls).
   */
  jwksUrl?: string;
  fetchImpl?: typeof fetch;
}

export interface VerifiedAgentCard {
  readonly card: AgentCardJson;
  /** `signed`: at least one signature verified; `unsigned`: the card carries none. */
  readonly signature: 'signed' | 'unsigned';
  /** The `kid` of the signature that verified. */
  readonly kid?: string;
}

/** Why a card was refused; the message is one line naming the reason, for the registry's problem list. */
export class AgentCardRefused extends Error {
  constructor(
    readonly reason: 'unreachable' | 'invalid' | 'signature',
    message: string,
  ) {
    super(message);
    this.name = 'AgentCardRefused';
  }
}

// Asymmetric algorithms only: a card signed with `none` or an HMAC secret proves nothing to a reader.
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA'];

/**
 * Fetches an A2A Agent Card from its URL and verifies its signatures when it carries any (A2A v1.0
 * §8.4: a JWS over the RFC 8785 canonical card without `signatures`, canonicalised by the SDK's own
 * `canonicalizeAgentCard` so the bytes are those every A2A signer signs). One verifying signature
 * is enough; when none verifies, the first one's reason is given. Shared by the registry (it refuses
 * a remote agent whose card does not answer or does not verify) and the bridge that calls the agent.
 */
export async function fetchVerifiedAgentCard(
  cardUrl: string,
  options: FetchAgentCardOptions = {},
): Promise<VerifiedAgentCard> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const fetchImpl = options.fetchImpl ?? fetch;
  const card = await fetchJson(fetchImpl, cardUrl, timeoutMs, 'card');
  if (typeof card !== 'object' || card === null || Array.isArray(card))
    throw new AgentCardRefused('invalid', `the card at ${cardUrl} is not a JSON object`);
  const json = card as AgentCardJson;
  if (typeof json['name'] !== 'string' || !json['name'])
    throw new AgentCardRefused('invalid', `the card at ${cardUrl} has no name`);
  const signatures = json['signatures'];
  if (signatures === undefined || (Array.isArray(signatures) && signatures.length === 0))
    return { card: json, signature: 'unsigned' };
  if (!Array.isArray(signatures))
    throw new AgentCardRefused('signature', `the card's signatures are not a list`);

  const payload = base64url.encode(
    new TextEncoder().encode(canonicalizeAgentCard(json as unknown as AgentCard)),
  );
  const keySets = new Map<string, Promise<JWK[]>>();
  const keysAt = (url: string) => {
    let keys = keySets.get(url);
    if (!keys) {
      keys = fetchJson(fetchImpl, url, timeoutMs, 'key set').then((jwks) => {
        const list = (jwks as { keys?: unknown } | null)?.keys;
        if (!Array.isArray(list)) throw new AgentCardRefused('signature', `${url} is not a JWKS`);
        return list as JWK[];
      });
      keySets.set(url, keys);
    }
    return keys;
  };

  const reasons: string[] = [];
  for (const [index, entry] of signatures.entries()) {
    const label = `signature ${index + 1}`;
    try {
      const sig = entry as { protected?: unknown; signature?: unknown; header?: unknown };
      if (typeof sig.protected !== 'string' || typeof sig.signature !== 'string')
        throw new Error('has no protected header or signature');
      const header = decodeProtectedHeader({ protected: sig.protected });
      if (!header.kid || !header.alg || !header.typ) throw new Error('names no kid, alg or typ');
      if (!ALGORITHMS.includes(header.alg))
        throw new Error(`uses algorithm ${header.alg}, not an asymmetric one`);
      const jwksUrl = options.jwksUrl ?? trustedJku(cardUrl, header.jku);
      const jwk = (await keysAt(jwksUrl)).find((k) => k.kid === header.kid);
      if (!jwk) throw new Error(`key ${header.kid} is not in ${jwksUrl}`);
      const key = await importJWK(jwk, header.alg);
      await flattenedVerify({ payload, protected: sig.protected, signature: sig.signature }, key, {
        algorithms: ALGORITHMS,
      });
      return { card: json, signature: 'signed', kid: header.kid };
    } catch (error) {
      if (error instanceof AgentCardRefused && error.reason === 'unreachable') throw error;
      reasons.push(`${label} ${describe(error)}`);
    }
  }
  throw new AgentCardRefused('signature', `card signature does not verify: ${reasons[0] ?? 'none given'}`);
}

function trustedJku(cardUrl: string, jku: string | undefined): string {
  if (!jku) throw new Error('names no jku and no JWKS is pinned');
  let url: URL;
  try {
    url = new URL(jku, cardUrl);
  } catch {
    throw new Error(`names an invalid jku`);
  }
  if (url.origin !== new URL(cardUrl).origin)
    throw new Error(`names keys on ${url.origin}, not on the card's origin (pin a JWKS to trust it)`);
  return url.toString();
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    // jose's own wording for a bad signature.
    if ((error as { code?: string }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
      return 'does not match the card (altered card or wrong key)';
    return error.message;
  }
  return String(error);
}

async function fetchJson(
  fetchImpl: typeof fetch,
  url: string,
  timeoutMs: number,
  what: 'card' | 'key set',
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    // By name, not instanceof: the abort's DOMException may come from another realm (test VMs).
    const timedOut = (error as { name?: unknown } | null)?.name === 'TimeoutError';
    throw new AgentCardRefused(
      'unreachable',
      timedOut
        ? `the ${what} at ${url} did not answer within ${timeoutMs} ms`
        : `the ${what} at ${url} did not answer (${causeOf(error)})`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new AgentCardRefused('unreachable', `the ${what} at ${url} answered HTTP ${response.status}`);
  }
  try {
    return await response.json();
  } catch {
    throw new AgentCardRefused('invalid', `the ${what} at ${url} is not JSON`);
  }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
