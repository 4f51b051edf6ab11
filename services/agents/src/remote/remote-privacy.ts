import type { MeshAgent } from '@orgmesh/agent-sdk';
import { AppError, MaskText, RestoreText, type Task as MeshTask } from '@orgmesh/contracts';
import type { RemoteOutcome } from './a2a-mapping.js';

/** The task input as it may leave orgmesh, and how to bring the remote agent's words back. */
export type MaskedInput =
  | { kind: 'masked'; input: unknown; restore: (outcome: RemoteOutcome) => Promise<RemoteOutcome> }
  /**
   * The caller's profile refuses it (a strict type), or a number holds personal data (a placeholder
   * cannot replace a number without changing its type): nothing is sent; the reason names the types
   * and the numbers' JSON paths (their keys masked), never values.
   */
  | { kind: 'refused'; reason: string };

/**
 * A remote A2A agent is outside orgmesh like a model provider (ADR 0021): the task input is masked
 * by the privacy proxy (`rpc.privacy.v1.mask-text`, the bridge's own token, so its role's profile and
 * the workflow's placeholders) before it is sent, and the placeholders in the answer — its text, its
 * data's strings, a question or a failure reason — are restored (`restore-text`, the sealed handle).
 *
 * Fail closed: when the proxy does not answer, nothing is sent; the delivery is retried
 * (`unavailable`), and the last one fails the task with that reason. String values and object keys
 * are masked (a key becomes its masked text); each number's decimal text is scanned with them, in
 * the same call, and a number the proxy would change refuses the task, as the model path refuses an
 * unmaskable value. Booleans and null pass.
 */
export class RemotePrivacy {
  constructor(
    private readonly agent: MeshAgent,
    private readonly agentName: string,
    private readonly timeoutMs: number,
  ) {}

  async mask(task: MeshTask, input: unknown = task.input): Promise<MaskedInput> {
    const texts: string[] = [];
    collectTexts(input, texts, { numbers: true });
    let masked: { texts: string[]; handle: string | null };
    try {
      masked = await this.agent.bus.request(
        MaskText,
        {
          texts: separated(texts),
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
    const unmaskable: Unmaskable[] = [];
    const answers = masked.texts.filter((_, i) => i % 2 === 0);
    const out = replaceTexts(input, answers[Symbol.iterator](), { numbers: unmaskable });
    if (unmaskable.length) return { kind: 'refused', reason: this.unmaskableReason(unmaskable) };
    const handle = masked.handle;
    return {
      kind: 'masked',
      input: out,
      restore: (outcome) => (handle ? this.restore(outcome, handle) : Promise.resolve(outcome)),
    };
  }

  private unmaskableReason(found: readonly Unmaskable[]): string {
    const listed = found
      .slice(0, 5)
      .map((f) => `${f.path} (${f.type})`)
      .join(', ');
    const more = found.length > 5 ? ` and ${found.length - 5} more` : '';
    return `not sent to ${this.agentName}: personal data in a number, which a placeholder cannot replace: ${listed}${more}`.slice(
      0,
      1000,
    );
  }

  private async restore(outcome: RemoteOutcome, handle: string): Promise<RemoteOutcome> {
    switch (outcome.kind) {
      case 'running':
        return outcome;
      case 'completed': {
        const texts: string[] = [outcome.result.text];
        collectTexts(outcome.result.data, texts, { numbers: false });
        const [text, ...rest] = await this.restoreTexts(handle, texts);
        const data = replaceTexts(outcome.result.data, rest[Symbol.iterator]()) as unknown[] | undefined;
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

/**
 * The texts with a space between each two. The proxy reads across the seams of consecutive texts (a
 * value cut in two is found): glued without a space, a key and the value after it (`email` +
 * `maria@…`) read as one address, and every piece is masked as one. With it, what crosses a seam is
 * a cue (`ssn` before `512447391`), as a key gives a value in prose.
 */
function separated(texts: readonly string[]): string[] {
  return texts.flatMap((text, i) => (i === 0 ? [text] : [' ', text]));
}

/** A number in which the proxy found personal data: where (keys masked), and the type found. */
export interface Unmaskable {
  path: string;
  type: string;
}

/**
 * The texts of a JSON value the proxy scans, depth first, in key order: each key before its value,
 * string values, and (with `numbers`) each number's decimal text. A stable order: `replaceTexts`
 * takes the answers back in it.
 */
export function collectTexts(value: unknown, out: string[], options: { numbers: boolean }): void {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' && options.numbers) out.push(String(value));
  else if (Array.isArray(value)) for (const item of value) collectTexts(item, out, options);
  else if (typeof value === 'object' && value !== null)
    for (const [key, item] of Object.entries(value)) {
      out.push(key);
      collectTexts(item, out, options);
    }
}

/**
 * The value with its keys and strings replaced, in `collectTexts`' order. With `numbers`, each
 * number takes its text back too and stays the number it was; one whose text came back changed
 * (personal data found in it) is recorded there, with its path named by the masked keys.
 */
export function replaceTexts(
  value: unknown,
  texts: Iterator<string>,
  options: { numbers?: Unmaskable[]; path?: string } = {},
): unknown {
  const path = options.path ?? '$';
  if (typeof value === 'string') return nextText(texts);
  if (typeof value === 'number' && options.numbers) {
    const text = nextText(texts);
    if (text !== String(value)) options.numbers.push({ path, type: entityTypeIn(text) });
    return value;
  }
  if (Array.isArray(value))
    return value.map((item, i) => replaceTexts(item, texts, { ...options, path: `${path}[${i}]` }));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([, item]) => {
        const masked = nextText(texts);
        return [masked, replaceTexts(item, texts, { ...options, path: `${path}${pathKey(masked)}` })];
      }),
    );
  return value;
}

function nextText(texts: Iterator<string>): string {
  const next = texts.next();
  // Fewer texts than were sent would be a proxy defect: never fall back to the original value.
  if (next.done) throw new AppError('internal', 'the privacy proxy answered fewer texts than it was sent');
  return next.value;
}

function pathKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** The entity type of the first placeholder in a masked text (`[[SSN_3f9a1c2b]]` → `ssn`). */
function entityTypeIn(text: string): string {
  const type = /\[\[([A-Z][A-Z0-9_]*?)_[0-9a-f]{6,}\]\]/.exec(text)?.[1];
  return type ? type.toLowerCase() : 'personal data';
}
