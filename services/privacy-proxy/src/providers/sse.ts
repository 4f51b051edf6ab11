/** One server-sent event as it arrived (fields joined per the SSE spec). */
export interface SseEvent {
  readonly event?: string;
  readonly data: string;
  readonly id?: string;
  readonly retry?: string;
  /** Comment lines (`: keep-alive`), forwarded as they came. */
  readonly comments?: readonly string[];
}

/**
 * An event's data as the JSON object a provider's stream chunk is, or undefined when it is not a JSON
 * object (`[DONE]`, a keep-alive, or an upstream's `null`, number or array: the restorers send such an
 * event on as it came, rather than failing the stream on it). It runs per chunk, so it allocates
 * nothing beyond the parse itself.
 */
export function jsonData(event: SseEvent): Record<string, unknown> | undefined {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return undefined;
  }
  return typeof data === 'object' && data !== null && !Array.isArray(data)
    ? (data as Record<string, unknown>)
    : undefined;
}

/** Incremental SSE parser: push decoded text, get complete events; CRLF, LF and CR line ends. */
export class SseParser {
  private buffer = '';
  private event: string | undefined;
  private data: string[] = [];
  private id: string | undefined;
  private retry: string | undefined;
  private comments: string[] = [];
  private skipLeadingLf = false;

  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (this.skipLeadingLf) {
        this.skipLeadingLf = false;
        if (c === 10 && i === start) {
          start = i + 1;
          continue;
        }
      }
      if (c !== 10 && c !== 13) continue;
      if (c === 13) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 10) {
            this.line(buf.slice(start, i), out);
            i++;
            start = i + 1;
            continue;
          }
        } else {
          this.skipLeadingLf = true;
        }
      }
      this.line(buf.slice(start, i), out);
      start = i + 1;
    }
    this.buffer = buf.slice(start);
    return out;
  }

  /** Flushes an event the stream ended without a blank line after. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buffer.length > 0) this.line(this.buffer, out);
    this.buffer = '';
    this.line('', out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0 || this.event !== undefined || this.comments.length > 0) {
        out.push({
          ...(this.event !== undefined ? { event: this.event } : {}),
          data: this.data.join('\n'),
          ...(this.id !== undefined ? { id: this.id } : {}),
          ...(this.retry !== undefined ? { retry: this.retry } : {}),
          ...(this.comments.length ? { comments: this.comments } : {}),
        });
      }
      this.event = undefined;
      this.data = [];
      this.id = undefined;
      this.retry = undefined;
      this.comments = [];
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line);
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
    else if (field === 'retry') this.retry = value;
  }
}

export function formatSse(event: SseEvent): string {
  let out = '';
  if (event.comments) for (const c of event.comments) out += `${c}\n`;
  if (event.event !== undefined) out += `event: ${event.event}\n`;
  if (event.id !== undefined) out += `id: ${event.id}\n`;
  if (event.retry !== undefined) out += `retry: ${event.retry}\n`;
  if (event.data.length > 0 || event.event !== undefined || !event.comments) {
    for (const line of event.data.split('\n')) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}
