/** One server-sent event as the gateway frames it (`id` = resume cursor, `event` = subject, `data` = JSON). */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * An incremental SSE parser (the WHATWG event-stream format, for what the gateway sends): feed it
 * text as it arrives; it returns the complete events and keeps the rest for the next chunk.
 */
export class SseParser {
  private buffer = '';
  /**
   * The last `id` the stream set, also from frames without data: the gateway's first frame carries
   * only the subscription's starting cursor, so a drop before any event still resumes from there.
   */
  lastEventId: string | undefined;

  push(chunk: string): SseEvent[] {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const events: SseEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: SseEvent = { id: undefined, event: undefined, data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'id') event.id = this.lastEventId = value;
        else if (field === 'event') event.event = value;
      }
      if (data.length) events.push({ ...event, data: data.join('\n') });
    }
    return events;
  }
}
