import type { ServerResponse } from 'node:http';
import { AppError } from '@orgmesh/contracts';
import type { Restorer } from '@orgmesh/privacy';
import type { StreamUsageTap } from '../governance/usage.js';
import type { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import { AnthropicStreamRestorer } from '../providers/anthropic-stream.js';
import { OpenAiStreamRestorer } from '../providers/openai-stream.js';
import { formatSse, SseParser, type SseEvent } from '../providers/sse.js';
import type { Exchange } from './exchange.js';
import type { Provider } from './options.js';
import type { UpstreamResponse } from './upstream.js';

/** How one stream is relayed: restored (both restorers) and whether its usage chunk is dropped. */
export interface StreamRelay {
  readonly provider: Provider;
  readonly restorer: Restorer | undefined;
  readonly jsonRestorer: Restorer | undefined;
  readonly dropUsageChunk: boolean;
}

/** The restore unit for streams: relays an SSE answer event by event, placeholders restored. */
export async function relayStream(
  metrics: PrivacyProxyMetrics,
  x: Exchange,
  response: UpstreamResponse,
  headers: Record<string, string>,
  relay: StreamRelay,
  /** Reads the usage along (the call is counted). */
  tap: StreamUsageTap | undefined,
): Promise<void> {
  const { provider, restorer, jsonRestorer, dropUsageChunk } = relay;
  x.res.writeHead(response.status, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    ...headers,
  });
  const body = response.body;
  // The client learns at once that the stream has started, as from the provider. When the first
  // event is already here (it usually came with the upstream's headers), the headers go out with it
  // in one write instead: one wake-up of the client less before its first token.
  if (body.readableLength === 0) x.res.flushHeaders();
  if ((!restorer || !jsonRestorer) && !tap) {
    // Nothing was masked and nothing is counted: relay the bytes as they come.
    for await (const chunk of body) await write(x.res, chunk as Uint8Array);
    x.res.end();
    return;
  }
  const transformer =
    restorer && jsonRestorer
      ? provider === 'openai'
        ? new OpenAiStreamRestorer(restorer, jsonRestorer)
        : new AnthropicStreamRestorer(restorer, jsonRestorer)
      : undefined;
  const parser = new SseParser();
  const decoder = new TextDecoder();
  // Without a restorer and without a chunk to drop, the upstream's bytes go out as they came and the
  // parser only reads along for the usage.
  const passBytes = !transformer && !dropUsageChunk;
  // The first token goes out on its own. The events of one upstream read are otherwise gathered into
  // one write; but a provider (or a proxy busy elsewhere, reading late) often hands over many events
  // at once, and the client's first token would then wait for the whole batch to be restored (about
  // 0.2 ms for 40 events in the bench).
  let firstTextOut = !transformer;
  const emit = async (events: SseEvent[]) => {
    let out = '';
    for (const event of events) {
      if (tap?.observe(event) && dropUsageChunk) continue;
      if (passBytes) continue;
      out += transformer ? transformer.transform(event) : formatSse(event);
      if (!firstTextOut && transformer?.textSent) {
        firstTextOut = true;
        await write(x.res, out);
        // node:http holds a chunked write back (corked) until the next tick, which comes only after the
        // rest of this read is restored (microtasks): the first token would still wait for the batch.
        // Uncorked now, it leaves at once.
        if (x.res.writableCorked > 0) x.res.uncork();
        out = '';
      }
    }
    if (out.length > 0) await write(x.res, out);
  };
  try {
    for await (const chunk of body) {
      const bytes = chunk as Uint8Array;
      const events = parser.push(decoder.decode(bytes, { stream: true }));
      if (passBytes) await write(x.res, bytes);
      await emit(events);
    }
    await emit(parser.push(decoder.decode()));
    await emit(parser.end());
  } catch (cause) {
    metrics.upstreamErrors.inc({ provider });
    x.log['streamError'] = true;
    // Flush what is held back with the end-of-stream rule (no fragment leaves), then end.
    const rest = transformer?.finish();
    if (rest) await write(x.res, rest).catch(() => undefined);
    throw new AppError('unavailable', `${provider} upstream stream broke off`, { cause });
  }
  const rest = transformer?.finish();
  if (rest) await write(x.res, rest);
  x.res.end();
}

/** Writes with backpressure; rejects once the client has gone away. */
function write(res: ServerResponse, chunk: string | Uint8Array): Promise<void> {
  if (res.destroyed) return Promise.reject(new AppError('unavailable', 'client went away'));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new AppError('unavailable', 'client went away'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
