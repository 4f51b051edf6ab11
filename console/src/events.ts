import { currentSession } from './auth';
import { SseParser } from './sse';
import type { EventEnvelope } from './types';

export type StreamState = 'connecting' | 'live' | 'retrying' | 'closed';

/**
 * Follows the gateway's event stream (GET /v1/events, server-sent events) with the person's token in
 * the Authorization header, read with fetch so every subject arrives without naming it in advance.
 * It reconnects after a drop with Last-Event-ID, so no event in between is missed. The gateway filters
 * what each token may see (an operator: all; a person: their approvals' changes, ADR 0019).
 */
export function followEvents(
  onEvent: (event: EventEnvelope) => void,
  onState: (state: StreamState, detail?: string) => void,
  subject?: string,
): () => void {
  const controller = new AbortController();
  let lastEventId: string | undefined;
  let delayMs = 500;
  const run = async () => {
    while (!controller.signal.aborted) {
      onState(lastEventId ? 'retrying' : 'connecting');
      try {
        const session = currentSession();
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (session) headers['authorization'] = `Bearer ${session.accessToken}`;
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const res = await fetch(`/v1/events${subject ? `?subject=${encodeURIComponent(subject)}` : ''}`, {
          headers,
          signal: controller.signal,
        });
        if (!res.ok || !res.body) {
          const problem = (await res.json().catch(() => ({}))) as { title?: string; detail?: string };
          onState(
            'closed',
            problem.title ? `${problem.title}: ${problem.detail ?? ''}` : `HTTP ${res.status}`,
          );
          if (res.status === 401 || res.status === 403) return;
        } else {
          onState('live');
          delayMs = 500;
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          const parser = new SseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const frames = parser.push(value);
            if (parser.lastEventId) lastEventId = parser.lastEventId;
            for (const frame of frames) {
              try {
                onEvent(JSON.parse(frame.data) as EventEnvelope);
              } catch {
                // A frame that is not an event envelope is skipped.
              }
            }
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        onState('retrying', error instanceof Error ? error.message : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  };
  void run();
  return () => {
    controller.abort();
    onState('closed');
  };
}
