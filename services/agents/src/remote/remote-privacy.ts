import type { MeshAgent } from '@orgmesh/agent-sdk';
import { AppError, MaskText, RestoreText, type Task as MeshTask } from '@orgmesh/contracts';
import type { RemoteOutcome } from './a2a-mapping.js';

/** The task input as it may leave orgmesh, and how to bring the remote agent's words back. */
export type MaskedInput =
  | { kind: 'masked'; input: unknown; restore: (outcome: RemoteOutcome) => Promise<RemoteOutcome> }
  /** The caller's profile refuses it (a strict type): nothing is sent; the reason names the types, never values. */
  | { kind: 'refused'; reason: string };

/**
 * A remote A2A agent is outside orgmesh like a model provider (ADR 0021): the task input is masked
 * by the privacy proxy (`rpc.privacy.v1.mask-text`, the bridge's own token, so its role's profile and
 * the workflow's placeholders) before it is sent, and the placeholders in the answer — its text, its
 * data's strings, a question or a failure reason — are restored (`restore-text`, the sealed handle).
 *
 * Fail closed: when the proxy does not answer, nothing is sent; the delivery is retried
 * (`unavailable`), and the last one fails the task with that reason. Only string values are masked
 * (keys and numbers go as they are, as a mesh input's structure is the sender's vocabulary).
 */
export class RemotePrivacy {
  constructor(
    private readonly agent: MeshAgent,
    private readonly agentName: string,
    private readonly timeoutMs: number,
  ) {}

  async mask(task: MeshTask): Promise<MaskedInput> {
    const texts: string[] = [];
    collectStrings(task.input, texts);
    let masked: { texts: string[]; handle: string | null };
    try {
      masked = await this.agent.bus.request(
        MaskText,
        {
          texts,
          contextId: task.contextId,
          // The handle outlives the call: an input-required task waits until its deadline.
          ttlSeconds: clampTtl(Date.parse(task.deadline) - Date.now()),
        },
        { authorization: await this.agent.authorization(), timeoutMs: this.timeoutMs },
      );
    } catch (error) {
      if (error instanceof AppError && error.code === 'privacy_strict_refused')
        return { kind: 'refused', reason: `not sent to ${this.agentName}: ${error.message}` };
      throw notSent(
        `the task input was not sent to ${this.agentName}: the privacy proxy did not mask it`,
        error,
      );
    }
    const input = replaceStrings(task.input, masked.texts[Symbol.iterator]());
    const handle = masked.handle;
    return {
      kind: 'masked',
      input,
      restore: (outcome) => (handle ? this.restore(outcome, handle) : Promise.resolve(outcome)),
    };
  }

  private async restore(outcome: RemoteOutcome, handle: string): Promise<RemoteOutcome> {
    switch (outcome.kind) {
      case 'running':
        return outcome;
      case 'completed': {
        const texts: string[] = [outcome.result.text];
        collectStrings(outcome.result.data, texts);
        const [text, ...rest] = await this.restoreTexts(handle, texts);
        const data = replaceStrings(outcome.result.data, rest[Symbol.iterator]()) as unknown[] | undefined;
        return {
          kind: 'completed',
          result: { ...outcome.result, text: text ?? '', ...(data ? { data } : {}) },
        };
      }
      default: {
        const [reason] = await this.restoreTexts(handle, [outcome.reason]);
        return { ...outcome, reason: reason ?? outcome.reason };
      }
    }
  }

  /** A passing failure of the proxy is tried three times: the remote answer is not asked for again lightly. */
  private async restoreTexts(handle: string, texts: string[]): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const restored = await this.agent.bus.request(
          RestoreText,
          { handle, texts },
          { authorization: await this.agent.authorization(), timeoutMs: this.timeoutMs },
        );
        return restored.texts;
      } catch (error) {
        const passing = !(error instanceof AppError) || error.retryable;
        if (!passing || attempt >= 3)
          throw notSent(`the answer of ${this.agentName} could not be restored by the privacy proxy`, error);
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
    }
  }
}

/** A passing failure stays one (the delivery is retried); any other ends the task with its code. */
function notSent(message: string, error: unknown): AppError {
  const code = error instanceof AppError ? error.code : 'unavailable';
  const why = error instanceof AppError ? error.message : 'no answer';
  return new AppError(code, `${message}: ${why}`.slice(0, 1000), { cause: error });
}

function clampTtl(untilDeadlineMs: number): number {
  // A minute past the deadline (reports after it are refused by the mesh anyway), a week at most.
  return Math.min(7 * 86_400, Math.max(60, Math.ceil(untilDeadlineMs / 1000) + 60));
}

/** The string values of a JSON value, depth first, in key order. */
export function collectStrings(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, out);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) collectStrings(item, out);
}

/** The value with its strings replaced, in `collectStrings`' order. */
export function replaceStrings(value: unknown, texts: Iterator<string>): unknown {
  if (typeof value === 'string') {
    const next = texts.next();
    // Fewer texts than strings would be a proxy defect: never fall back to the original value.
    if (next.done) throw new AppError('internal', 'the privacy proxy answered fewer texts than it was sent');
    return next.value;
  }
  if (Array.isArray(value)) return value.map((item) => replaceStrings(item, texts));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, texts)]));
  return value;
}
