/**
 * The client side of the problem+json edge: how the gateway's own clients (the MCP server, the
 * registry CLI) read an answer. Each builds its own error from the fields; reading them is one way.
 */

/** The answer's text and, when it is JSON, its value (undefined for an empty or a non-JSON body). */
export async function readJsonAnswer(response: Response): Promise<{ text: string; json: unknown }> {
  const text = await response.text();
  try {
    return { text, json: text ? JSON.parse(text) : undefined };
  } catch {
    return { text, json: undefined };
  }
}

/** What an error answer says, read from its problem+json (RFC 9457 with orgmesh's stable `code`). */
export interface ProblemFields {
  /** The problem's `code` verbatim; undefined when the body names none (a proxy's page, say). */
  readonly code: string | undefined;
  /** `detail`, else `title`, else the caller's fallback. */
  readonly message: string;
  /** The extension members (e.g. `issues`, `problems`, `currentState`): all but the standard ones. */
  readonly extensions: Record<string, unknown>;
}

const STANDARD_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'code', 'instance']);

/** The fields of an error answer's body: a problem object, or anything else (no code, the fallback message). */
export function problemFields(body: unknown, fallbackMessage: string): ProblemFields {
  if (typeof body !== 'object' || body === null) {
    return { code: undefined, message: fallbackMessage, extensions: {} };
  }
  const problem = body as Record<string, unknown>;
  const text = (key: string): string | undefined =>
    typeof problem[key] === 'string' ? problem[key] : undefined;
  const extensions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(problem)) if (!STANDARD_MEMBERS.has(key)) extensions[key] = value;
  return { code: text('code'), message: text('detail') ?? text('title') ?? fallbackMessage, extensions };
}
