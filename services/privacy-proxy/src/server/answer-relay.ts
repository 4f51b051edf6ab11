import type { Restorer } from '@orgmesh/privacy';
import {
  factsOfJson,
  modelLabel,
  StreamUsageTap,
  textOfJson,
  type AnswerFacts,
} from '../governance/usage.js';
import type { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import { restoreDocument } from '../providers/json-text.js';
import type { Exchange } from './exchange.js';
import type { Provider } from './options.js';
import { relayStream } from './stream-relay.js';
import type { UpstreamResponse } from './upstream.js';

/** What an answer said about usage, and its texts (for an estimate when it said nothing). */
export interface CompletionFacts {
  readonly answer: AnswerFacts | undefined;
  readonly texts: () => { request: string; answer: string };
}

/** What a stream carried before it broke off. */
export interface PartialAnswer {
  stream?: () => CompletionFacts;
}

/** One completion's answer on its way back: how to restore it and whether it is counted. */
export interface AnswerRelay {
  readonly provider: Provider;
  readonly restorer: Restorer | undefined;
  readonly jsonRestorer: Restorer | undefined;
  /** Whether the call is governed (its usage counted). */
  readonly counted: boolean;
  readonly dropUsageChunk: boolean;
  /** The body sent upstream, for a usage estimate. */
  readonly sent: string | Buffer;
  readonly partial: PartialAnswer;
}

const ZERO_USAGE = {
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  estimated: false,
};

const PASSED_HEADERS = [
  'retry-after',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'anthropic-ratelimit-requests-remaining',
];

/**
 * The restore unit: answers the client with the upstream's answer, placeholders restored, and says
 * what the answer used (undefined when the call is not counted).
 */
export async function relayAnswer(
  metrics: PrivacyProxyMetrics,
  x: Exchange,
  response: UpstreamResponse,
  relay: AnswerRelay,
): Promise<CompletionFacts | undefined> {
  x.log['upstreamStatus'] = response.status;
  const contentType = response.header('content-type') ?? 'application/json';
  const passHeaders: Record<string, string> = {};
  for (const name of PASSED_HEADERS) {
    const value = response.header(name);
    if (value !== undefined) passHeaders[name] = value;
  }
  const answer: Answer = { x, response, passHeaders, relay };
  if (contentType.includes('text/event-stream')) return relayStreamAnswer(metrics, answer);
  return relayJsonAnswer(answer, contentType);
}

/** One upstream answer on its way to the client: the exchange, the answer, what goes with it. */
interface Answer {
  readonly x: Exchange;
  readonly response: UpstreamResponse;
  /** The upstream's headers the client gets too (rate limits, retry-after). */
  readonly passHeaders: Record<string, string>;
  readonly relay: AnswerRelay;
}

async function relayStreamAnswer(
  metrics: PrivacyProxyMetrics,
  { x, response, passHeaders, relay }: Answer,
): Promise<CompletionFacts | undefined> {
  const sent = relay.sent;
  const tap = relay.counted ? new StreamUsageTap(relay.provider) : undefined;
  if (tap && response.status < 300)
    relay.partial.stream = () => ({
      answer: tap.result(),
      texts: () => ({ request: String(sent), answer: tap.keptText().text }),
    });
  await relayStream(metrics, x, response, passHeaders, relay, tap);
  if (!tap) return undefined;
  const answer = tap.result();
  noteAnswer(x, answer);
  return {
    answer: response.status < 300 ? answer : { finishReasons: [], usage: ZERO_USAGE },
    texts: () => ({ request: String(sent), answer: tap.keptText().text }),
  };
}

async function relayJsonAnswer(
  { x, response, passHeaders, relay }: Answer,
  contentType: string,
): Promise<CompletionFacts | undefined> {
  const { restorer, jsonRestorer, counted } = relay;
  const text = await response.body.text();
  let out = text;
  let parsed: unknown;
  if ((restorer && jsonRestorer) || counted) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  // Facts before restoring: usage and model are numbers and ids, and the answer text is estimated as sent.
  const answer = counted && response.status < 300 ? factsOfJson(relay.provider, parsed) : undefined;
  const answerText = counted && answer && !answer.usage ? textOfJson(parsed) : '';
  if (restorer && jsonRestorer && contentType.includes('json')) {
    if (parsed !== undefined) {
      restoreDocument(parsed, restorer, jsonRestorer);
      out = JSON.stringify(parsed);
    } else out = restorer.restore(text);
  }
  x.res.writeHead(response.status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(out),
    ...passHeaders,
  });
  x.res.end(out);
  if (!counted) return undefined;
  if (answer) noteAnswer(x, answer);
  // A provider error used nothing the proxy can know of: counted as a call without tokens.
  const sent = relay.sent;
  return {
    answer: answer ?? { finishReasons: [], usage: ZERO_USAGE },
    texts: () => ({ request: String(sent), answer: answerText }),
  };
}

function noteAnswer(x: Exchange, answer: AnswerFacts): void {
  if (!x.genai) return;
  if (answer.model) x.genai['gen_ai.response.model'] = modelLabel(answer.model);
  if (answer.finishReasons.length > 0)
    x.genai['gen_ai.response.finish_reasons'] = answer.finishReasons.slice(0, 16);
}
